/**
 * The Cloud API over one bounded undici Pool per upstream origin, with header and body timeouts
 * from config. Connections open as the work needs them, up to what `maxInFlight` requests need:
 * HTTP/2 streams multiplexed over a few connections when the https upstream offers h2 (ALPN),
 * else one HTTP/1.1 request per socket (or `pipelining` per socket).
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

/** What the upstream config leaves out: keys with defaults may be omitted by callers other than the gateway. */
export type UpstreamSettings = Pick<UpstreamConfig, 'baseUrl' | 'version' | 'timeoutMs'> & Partial<UpstreamConfig>;

export interface UpstreamTlsOptions {
  /** Extra trusted CA (PEM) for a private upstream, e.g. the simulator with its own certificate in tests. */
  ca?: string;
}

/** Whether requests to this origin may use HTTP/2: ALPN needs TLS; plain http stays HTTP/1.1. */
export function usesHttp2(settings: UpstreamSettings): boolean {
  return (settings.http2 ?? true) && new URL(settings.baseUrl).protocol === 'https:';
}

/** Connections to open at most: given, else enough for `maxInFlight` requests. */
export function poolConnections(settings: UpstreamSettings): number {
  if (settings.connections !== undefined) return settings.connections;
  const maxInFlight = settings.maxInFlight ?? 8192;
  const perConnection = usesHttp2(settings) ? (settings.streamsPerConnection ?? 1000) : (settings.pipelining ?? 1);
  return Math.max(1, Math.ceil(maxInFlight / perConnection));
}

export function createUndiciUpstream(config: UpstreamSettings, tls: UpstreamTlsOptions = {}): UndiciUpstream {
  const base = new URL(config.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const h2 = usesHttp2(config);
  const streams = config.streamsPerConnection ?? 1000;
  const pool = new Pool(base.origin, {
    connections: poolConnections(config),
    // HTTP/2: undici counts a connection busy at `pipelining` requests, so it opens another
    // connection rather than queueing beyond the streams the peer allows.
    pipelining: h2 ? streams : (config.pipelining ?? 1),
    allowH2: h2,
    maxConcurrentStreams: streams,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    connect: { timeout: config.timeoutMs, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) },
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
      // `idempotent`: undici otherwise runs a POST alone on its connection (no other stream or
      // pipelined request beside it), which caps an HTTP/2 connection at one request in flight
      // (test/upstream/http2.test.ts: 300 requests at 500 ms answer in about one latency
      // multiplexed, 50 s one at a time). A failure mid-flight is a network result
      // either way, retried by the dispatcher under its at-least-once rule; undici retries nothing.
      const res = await pool.request({ method: 'POST', path: r.path, headers: r.headers, body: req.body, idempotent: true, blocking: false });
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
