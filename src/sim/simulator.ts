/**
 * Starts the Cloud API simulator in-process (tests, benchmarks, the gateway's demo mode) and hands
 * back a handle to inspect it and to change numbers and faults while it runs.
 *
 * Not modelled (known gaps against the real Cloud API): the portfolio messaging limit (tiers) and
 * quality rating; per-user marketing caps (131049 only as an injected async failure); template
 * existence, approval, pacing and parameter counts at send time; the 10-minute link cache;
 * country-code prefixing of `to` without `+`; form-urlencoded bodies; Graph management endpoints
 * other than message_templates, BUC headers and 80007/80008 budgets; groups
 * beyond accepting `recipient_type: "group"`; webhook verification (GET) handshakes. TLS with
 * HTTP/2 is there when `tls` is given (self-signed.ts makes a pair for tests and benchmarks).
 * Modelled beyond sends: media upload / URL / delete (media-routes.ts), the WABA's templates
 * (`templates` in the config), and WhatsApp's wa_id for Mexico and Brazil (cloud-api/wa-id.ts).
 */
import type { Clock } from '../clock.js';
import { buildSimApp } from './app.js';
import { SimMediaStore, type StoredMedia } from './media-store.js';
import type { SimSignal } from './signals.js';
import { parseSimConfig, type SimConfigInput, type SimFaults, type SimNumber } from './config.js';
import { SimEngine, type InboundInput, type SimStats } from './engine.js';

export interface Simulator {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  stats(): SimStats;
  /** Forgets limiter state, service windows, measurements and scheduled statuses. */
  reset(): void;
  /** Adds or replaces a number at run time. */
  setNumber(number: SimNumber): void;
  removeNumber(phoneNumberId: string): void;
  /** Replaces the global faults, or one number's faults when `phoneNumberId` is given. */
  setFaults(faults: SimFaults | undefined, phoneNumberId?: string): void;
  /** A user writes to the number: opens the 24 h window, counts against throughput, emits the webhook. Returns its wamid. */
  inbound(message: InboundInput): string;
  /**
   * Sends queued webhooks now and waits until none is in flight (retries included). With
   * `{ pendingStatuses: true }` it first emits every status still scheduled (sent, delivered, read,
   * failed) in due order, so a test need not sleep through the status delays.
   */
  flushWebhooks(options?: { pendingStatuses?: boolean }): Promise<void>;
  /** Meta's account webhook about a number (capability, quality, restriction, preference), sent now. */
  signal(signal: SimSignal): void;
  /** An uploaded media item (POST /{version}/{phone-number-id}/media), undefined once deleted. */
  media(id: string): StoredMedia | undefined;
}

export type SimulatorOptions = SimConfigInput & {
  /** Time source for limits and measurements. Default: high-resolution wall clock. */
  clock?: Clock;
  /** The same keys nested (e.g. a loaded config file); top-level keys win over these. */
  config?: SimConfigInput;
};

/** Sub-millisecond clock: at 1000 mps the emission interval is 1 ms, so Date.now()'s granularity would blur decisions. */
export const highResClock: Clock = { nowMs: () => performance.timeOrigin + performance.now() };

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const { clock = highResClock, config, ...top } = options;
  const cfg = parseSimConfig({ ...config, ...top });
  const engine = new SimEngine(cfg, clock);
  const media = new SimMediaStore();
  let selfUrl = '';
  const app = buildSimApp({ engine, maxBodyBytes: cfg.maxBodyBytes, media: { store: media, selfUrl: () => selfUrl }, ...(cfg.tls !== undefined ? { tls: cfg.tls } : {}) });
  try {
    await app.listen({ host: cfg.host, port: cfg.port });
  } catch (err) {
    await engine.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  let closing: Promise<void> | undefined;
  selfUrl = `${cfg.tls === undefined ? 'http' : 'https'}://${host}:${port}`;
  return {
    url: selfUrl,
    media: (id) => media.get(id),
    signal: (s) => engine.signal(s),
    port,
    close: () => (closing ??= Promise.all([app.close(), engine.close()]).then(() => undefined)),
    stats: () => engine.stats(),
    reset: () => engine.reset(),
    setNumber: (n) => engine.setNumber(parseNumber(n)),
    removeNumber: (id) => engine.removeNumber(id),
    setFaults: (f, id) => engine.setFaults(f === undefined ? undefined : parseSimConfig({ faults: f }).faults, id),
    inbound: (m) => engine.inbound(m),
    flushWebhooks: (o) => engine.drainWebhooks(o?.pendingStatuses ?? false),
  };
}

/** Validates a run-time number through the same schema as the config file. */
function parseNumber(n: SimNumber): SimNumber {
  const parsed = parseSimConfig({ numbers: [n] }).numbers[0];
  if (!parsed) throw new Error('simulator: number missing');
  return parsed;
}
