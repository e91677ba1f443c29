/**
 * A tenant's webhook endpoint written for Meta's webhooks, for end-to-end tests of the `meta`
 * format: a plain node:http server on 127.0.0.1 that hands every POST's raw body and headers to
 * an integration's own handler (whatsapp-api-js `post()`, @great-detail/whatsapp's
 * `eventNotification` + `verifySignature`), exactly as that integration would behind Meta. It
 * answers 200 when the handler accepted the delivery, 401 when it refused the signature, 500 when
 * it threw otherwise, and records each attempt with what the handler made of it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** What an integration's handler made of one delivery: the items it saw, in its own terms. */
export type Handled = Array<Record<string, any>>;

/** Throws a `SignatureRefused` when the signature does not verify; anything else it throws is a handler failure. */
export type MetaHandler = (rawBody: string, headers: IncomingHttpHeaders) => Promise<Handled>;

export class SignatureRefused extends Error {}

export interface MetaAttempt {
  rawBody: string;
  headers: IncomingHttpHeaders;
  /** The handler verified the signature. */
  verified: boolean;
  /** What the handler extracted; empty when it refused or failed. */
  handled: Handled;
  answered: number;
  error?: string;
}

export class MetaTenantReceiver {
  readonly attempts: MetaAttempt[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly handler: MetaHandler) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/whatsapp/webhook`;
  }

  /** Every item the handler accepted, in the order the deliveries were answered. */
  items(): Handled {
    return this.attempts.filter((a) => a.answered === 200).flatMap((a) => a.handled);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        void this.handler(rawBody, req.headers).then(
          (handled) => this.record(res, { rawBody, headers: req.headers, verified: true, handled, answered: 200 }),
          (err: unknown) => {
            const refused = err instanceof SignatureRefused;
            this.record(res, { rawBody, headers: req.headers, verified: !refused, handled: [], answered: refused ? 401 : 500, error: String(err) });
          },
        );
      });
    });
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

  private record(res: import('node:http').ServerResponse, attempt: MetaAttempt): void {
    this.attempts.push(attempt);
    res.writeHead(attempt.answered, { 'content-type': 'text/plain' }).end(attempt.answered === 200 ? 'OK' : 'refused');
  }
}
