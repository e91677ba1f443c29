# syntax=docker/dockerfile:1
# Build stage: native addon (better-sqlite3), AssemblyScript core, TypeScript. Node 24: the active LTS.
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY asconfig.json tsconfig.json ./
COPY assembly ./assembly
COPY src ./src
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

# Runtime stage: slim Node, production dependencies only, non-root.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build ./build
COPY package.json ./
# The volume is the runtime user's; the default storage path (./data, i.e. /app/data) leads to it.
RUN mkdir -p /data && chown node:node /data && ln -s /data /app/data
USER node
# Reachable from outside the container whatever the config's listen.host says (env HOST overrides it).
ENV PORT=8080
ENV HOST=0.0.0.0
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve", "--config", "/config/sendgate.json"]
