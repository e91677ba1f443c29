/**
 * The simulator's HTTP surface as a Fastify instance (never listens; simulator.ts does). Maps the
 * engine's outcomes to responses; every error body is the Graph envelope, never a stack trace.
 *
 *   POST /{version}/{phone-number-id}/messages   and   POST /{phone-number-id}/messages
 *   GET  /__sim/stats[?pairs=0]    POST /__sim/reset    POST /__sim/inbound {phoneNumberId, from, text, name?}
 *   POST /__sim/faults {phoneNumberId?, faults}  (faults null/absent clears them)
 *   POST /__sim/signal {kind: capability|quality|restriction|preference, phoneNumberId, ...}  (signals.ts)
 */
import { constants as h2 } from 'node:http2';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { metaError } from '../cloud-api/index.js';
import { parseSimConfig } from './config.js';
import type { SimEngine } from './engine.js';
import type { SimMediaStore } from './media-store.js';
import { simMediaRoutes } from './media-routes.js';
import { SimSignalSchema } from './signals.js';
import { Value } from '@sinclair/typebox/value';

const JSON_TYPE = 'application/json; charset=UTF-8';
const NGHTTP2_INTERNAL_ERROR = h2.NGHTTP2_INTERNAL_ERROR;
const VERSION = /^v[0-9]{1,3}\.[0-9]{1,3}$/;

interface AppOptions {
  engine: SimEngine;
  /** Uploaded media (media-routes.ts); the app's own URL names their download links. */
  media?: { store: SimMediaStore; selfUrl: () => string };
  maxBodyBytes: number;
  /** Serve HTTPS with HTTP/2 and HTTP/1.1 (ALPN), as Meta's Graph API does. */
  tls?: { key: string; cert: string };
}

function sendError(reply: FastifyReply, code: number, details: string, status?: number): FastifyReply {
  const e = metaError(code, details);
  return reply.code(status ?? e.status).header('content-type', JSON_TYPE).send(JSON.stringify(e.body));
}

export function buildSimApp({ engine, maxBodyBytes, tls, media }: AppOptions): FastifyInstance {
  const options = {
    logger: false,
    bodyLimit: maxBodyBytes,
    // Keep pollution keys in the parsed body so the shared validator refuses them with Meta's code 100
    // (the same answer the gateway gives) instead of Fastify's own error format.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    forceCloseConnections: true,
    keepAliveTimeout: 65_000,
  } as const;
  // Over TLS: HTTP/2 for clients that offer it, HTTP/1.1 for the rest. The routes only use what
  // both request kinds share, so the instance is typed as the HTTP/1.1 one.
  const app = tls === undefined
    ? Fastify(options)
    : (Fastify({ ...options, http2: true, https: { allowHTTP1: true, key: tls.key, cert: tls.cert } }) as unknown as FastifyInstance);
  /** Delayed answers, cleared on close so no timer outlives the server. */
  const delayed = new Set<NodeJS.Timeout>();
  app.addHook('onClose', async () => {
    for (const t of delayed) clearTimeout(t);
    delayed.clear();
  });

  // Non-async handler: reply.send directly, no promise per request on the hot path.
  const handleSend = (req: FastifyRequest, reply: FastifyReply, phoneNumberId: string): void => {
    const arrivalDelayMs = engine.arrivalDelayMs(phoneNumberId);
    if (arrivalDelayMs > 0) {
      const t = setTimeout(() => {
        delayed.delete(t);
        answerSend(req, reply, phoneNumberId);
      }, arrivalDelayMs);
      delayed.add(t);
      return;
    }
    answerSend(req, reply, phoneNumberId);
  };

  const answerSend = (req: FastifyRequest, reply: FastifyReply, phoneNumberId: string): void => {
    engine.noteProtocol(req.raw.httpVersion);
    const auth = req.headers.authorization;
    const out = engine.send(phoneNumberId, auth, req.body);
    if (out.kind === 'timeout') {
      reply.hijack(); // never answer: the client's own timeout ends the exchange
      return;
    }
    if (out.kind === 'reset') {
      reply.hijack();
      // HTTP/2: reset this stream only; its connection carries other requests.
      const stream = (req.raw as { stream?: { close(code: number): void } }).stream;
      if (stream !== undefined) stream.close(NGHTTP2_INTERNAL_ERROR);
      else req.raw.socket.destroy();
      return;
    }
    if (out.latencyMs <= 0) {
      reply.code(out.status).header('content-type', JSON_TYPE).send(out.payload);
      return;
    }
    const t = setTimeout(() => {
      delayed.delete(t);
      reply.code(out.status).header('content-type', JSON_TYPE).send(out.payload);
    }, out.latencyMs);
    delayed.add(t);
  };

  app.post<{ Params: { version: string; phoneNumberId: string } }>('/:version/:phoneNumberId/messages', (req, reply) => {
    if (!VERSION.test(req.params.version)) {
      sendError(reply, 100, `Unknown path components: /${req.params.version}/${req.params.phoneNumberId}/messages`);
      return;
    }
    handleSend(req, reply, req.params.phoneNumberId);
  });
  app.post<{ Params: { phoneNumberId: string } }>('/:phoneNumberId/messages', (req, reply) => {
    handleSend(req, reply, req.params.phoneNumberId);
  });

  // `?pairs=0` leaves out the per-recipient view, which can hold up to maxTrackedPairs entries per number.
  app.get<{ Querystring: { pairs?: string } }>('/__sim/stats', async (req) => {
    const stats = engine.stats();
    return req.query.pairs === '0' ? { ...stats, pairs: {} } : stats;
  });
  app.post('/__sim/reset', async () => {
    engine.reset();
    return { ok: true };
  });
  app.post<{ Body: { phoneNumberId?: unknown; from?: unknown; text?: unknown; name?: unknown } }>('/__sim/inbound', async (req, reply) => {
    const b = req.body ?? {};
    if (typeof b.phoneNumberId !== 'string' || typeof b.from !== 'string' || typeof b.text !== 'string') {
      return sendError(reply, 100, 'phoneNumberId, from and text are required strings.');
    }
    try {
      const id = engine.inbound({ phoneNumberId: b.phoneNumberId, from: b.from, text: b.text, ...(typeof b.name === 'string' ? { name: b.name } : {}) });
      return { id };
    } catch (err) {
      return sendError(reply, 100, (err as Error).message);
    }
  });

  // Meta's account webhooks on demand (signals.ts), as Simulator.signal() sends them.
  app.post('/__sim/signal', async (req, reply) => {
    if (!Value.Check(SimSignalSchema, req.body)) return sendError(reply, 100, 'Body must be a signal: {kind: capability|quality|restriction|preference, phoneNumberId, ...}.');
    try {
      engine.signal(req.body);
      return { ok: true };
    } catch (err) {
      return sendError(reply, 100, (err as Error).message);
    }
  });

  // Operators change faults on a running `sendgate simulate` the way tests do through setFaults().
  app.post<{ Body: { phoneNumberId?: unknown; faults?: unknown } }>('/__sim/faults', async (req, reply) => {
    const b = req.body ?? {};
    try {
      const faults = b.faults === undefined || b.faults === null ? undefined : parseSimConfig({ faults: b.faults }).faults;
      engine.setFaults(faults, typeof b.phoneNumberId === 'string' ? b.phoneNumberId : undefined);
      return { ok: true };
    } catch (err) {
      return sendError(reply, 100, (err as Error).message);
    }
  });

  if (media !== undefined) simMediaRoutes(app, engine, media.store, media.selfUrl);

  // The WABA's templates, one page (`limit`, default 25) at a time with Graph's cursor paging.
  app.get<{ Params: { version: string; wabaId: string }; Querystring: { limit?: string; after?: string } }>('/:version/:wabaId/message_templates', (req, reply) => {
    const templates = engine.templatesOf(req.params.wabaId, req.headers.authorization);
    if (templates === undefined) return sendError(reply, 100, `Unsupported get request. Object with ID '${req.params.wabaId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`);
    const limit = Math.min(Math.max(Number(req.query.limit ?? 25) || 25, 1), 1000);
    const from = Number(req.query.after ?? 0) || 0;
    const page = templates.slice(from, from + limit).map((t, i) => ({ ...t, id: String(9_000_000_000 + from + i) }));
    const paging: Record<string, unknown> = { cursors: { before: String(from), after: String(from + page.length) } };
    if (from + limit < templates.length) paging.next = `${req.protocol}://${req.headers.host}${req.url.split('?')[0]}?limit=${limit}&after=${from + limit}`;
    return reply.header('content-type', JSON_TYPE).send(JSON.stringify({ data: page, paging }));
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, 100, `Unsupported ${req.method.toLowerCase()} request.`);
  });
  app.setErrorHandler((err: { code?: string; statusCode?: number }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 100, 'Request entity too large.', 413);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 100, 'Content-Type must be application/json.');
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, 100, 'Invalid parameter: the body is not valid JSON.');
    }
    return sendError(reply, 1, 'An unknown error occurred.', 500);
  });
  return app;
}
