/**
 * A tenant's webhook endpoint for end-to-end tests: a plain node:http server on 127.0.0.1 that
 * records every attempt and verifies `X-Sendgate-Signature` the way a tenant would, with
 * node:crypto only (src/webhooks/tenant/signature.ts documents the scheme). It can answer 500s
 * (`failing`), or go away entirely (`stop`) and come back on the same port (`start`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface ReceivedAttempt {
  eventId: string;
  rawBody: string;
  event: Record<string, any>;
  signatureValid: boolean;
  /** Status this endpoint answered. */
  answered: number;
}

export class TenantReceiver {
  readonly attempts: ReceivedAttempt[] = [];
  /** Answer 500 instead of 200. */
  failing = false;
  /** Answer 500 to the events this picks (e.g. one recipient's, as a receiver whose handler keeps failing for it). */
  failFor: ((event: Record<string, any>) => boolean) | undefined;
  private server: Server | undefined;
  private port = 0;

  /** @param nowSec the receiver's idea of now, for the 5-minute replay window (the gateway's clock in tests). */
  constructor(private readonly secret: string, private readonly nowSec: () => number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Attempts answered 2xx, in the order answered. */
  delivered(): ReceivedAttempt[] {
    return this.attempts.filter((a) => a.answered === 200);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const event = safeParse(rawBody);
        const answered = this.failing || this.failFor?.(event) === true ? 500 : 200;
        this.attempts.push({
          eventId: String(req.headers['x-sendgate-event-id']),
          rawBody,
          event,
          signatureValid: this.verify(String(req.headers['x-sendgate-signature'] ?? ''), String(req.headers['x-sendgate-event-id'] ?? ''), rawBody),
          answered,
        });
        res.writeHead(answered, { 'content-type': 'application/json' }).end('{}');
      });
    });
    // Port 0 the first time; the same port when it comes back, as a restarted endpoint would.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** t=<sec>,v1=<hex HMAC-SHA256(secret, "<t>.<event id>.<raw body>")>, within 5 minutes of now. */
  private verify(header: string, eventId: string, rawBody: string): boolean {
    let t = NaN;
    const v1: string[] = [];
    for (const part of header.split(',')) {
      const [name, value = ''] = part.split('=', 2) as [string, string?];
      if (name === 't') t = Number(value);
      else if (name === 'v1') v1.push(value);
    }
    if (!Number.isInteger(t) || Math.abs(this.nowSec() - t) > 300) return false;
    const expected = Buffer.from(createHmac('sha256', this.secret).update(`${t}.${eventId}.${rawBody}`).digest('hex'));
    return v1.some((v) => {
      const got = Buffer.from(v);
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
  }
}

function safeParse(raw: string): Record<string, any> {
  try {
    return JSON.parse(raw) as Record<string, any>;
  } catch {
    return {};
  }
}
