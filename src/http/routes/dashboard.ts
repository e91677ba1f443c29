/**
 * GET /dashboard: the operators' page, plain HTML/JS/CSS from src/http/dashboard/ (copied next to
 * the build; no build step of its own). The page itself holds nothing secret: it takes the admin
 * token from the URL fragment (`/dashboard#token=…`, never sent to the server in the URL) or asks
 * for it, and reads the admin API with it.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const FILES: ReadonlyArray<{ path: string; file: string; type: string }> = [
  { path: '/dashboard', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/dashboard/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/app.css', file: 'app.css', type: 'text/css; charset=utf-8' },
];

/** Same-origin scripts, styles and requests only; no inline script, no framing. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  for (const { path, file, type } of FILES) {
    // Read once at start: a few kilobytes, and a missing file fails the boot, not a request.
    const body = readFileSync(new URL(`../dashboard/${file}`, import.meta.url));
    app.get(path, { schema: { hide: true } }, async (_request, reply) => reply
      .type(type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', CSP)
      .send(body));
  }
}
