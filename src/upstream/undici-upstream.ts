/**
 * The Cloud API over one bounded undici Pool per upstream origin: keep-alive sockets, at most
 * `connections` of them, `pipelining` requests per socket, header and body timeouts from config.
 *
 * Per number, the request path and the header object (with the `Authorization: Bearer` string) are
 * built once and reused; the token appears nowhere else (not in errors, not in logs).
 */
import { Pool } from 'undici';
import type { Config } from '../config/schema.js';
import { networkReason, parseAnswer } from './parse.js';
import type { Upstream, UpstreamRequest, UpstreamResult } from './types.js';

export type UpstreamConfig = Config['upstream'];

interface NumberRoute {
  accessToken: string;
  path: string;
  headers: Record<string, string>;
}

/** Routes are per configured number; the cap only guards against a caller passing unbounded ids. */
const MAX_ROUTES = 100_000;

export interface UndiciUpstream extends Upstream {
  /** Requests queued or running in the pool (for tests and metrics). */
  pending(): number;
}

export function createUndiciUpstream(config: UpstreamConfig): UndiciUpstream {
  const base = new URL(config.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connections: config.connections,
    pipelining: config.pipelining,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    connect: { timeout: config.timeoutMs },
    keepAliveTimeout: 30_000,
  });
  const routes = new Map<string, NumberRoute>();
  let inFlight = 0;
  let closed = false;

  function route(phoneNumberId: string, accessToken: string): NumberRoute {
    const known = routes.get(phoneNumberId);
    if (known !== undefined && known.accessToken === accessToken) return known;
    if (routes.size >= MAX_ROUTES) routes.clear();
    const fresh: NumberRoute = {
      accessToken,
      path: `${prefix}/${config.version}/${encodeURIComponent(phoneNumberId)}/messages`,
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    };
    routes.set(phoneNumberId, fresh);
    return fresh;
  }

  async function send(req: UpstreamRequest): Promise<UpstreamResult> {
    if (closed) return { kind: 'network', reason: 'closed', message: 'upstream closed' };
    const r = route(req.phoneNumberId, req.accessToken);
    inFlight++;
    try {
      const res = await pool.request({ method: 'POST', path: r.path, headers: r.headers, body: req.body });
      const text = await res.body.text();
      return parseAnswer(res.statusCode, text);
    } catch (err) {
      const reason = networkReason(err);
      const code = (err as { code?: unknown } | null)?.code;
      return { kind: 'network', reason, message: typeof code === 'string' ? code : 'network error' };
    } finally {
      inFlight--;
    }
  }

  return {
    send,
    pending: () => inFlight,
    async close() {
      closed = true;
      await pool.close();
    },
  };
}
