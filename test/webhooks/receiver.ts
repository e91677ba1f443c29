/** A tenant's webhook endpoint for tests: a local Fastify server that records every attempt. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';

export interface Attempt {
  eventId: string;
  body: string;
  signatureValid: boolean;
  answered: number;
}

export class Receiver {
  readonly attempts: Attempt[] = [];
  /** Status to answer with. */
  status = 200;
  /** Hold each request this long before answering. */
  delayMs = 0;
  /** While set, hold each request until this promise resolves (a test-controlled answer). */
  gate: Promise<void> | undefined;
  inFlight = 0;
  maxInFlight = 0;
  private app: FastifyInstance | undefined;
  port = 0;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Event ids answered 2xx, in the order they were answered. */
  delivered(): Attempt[] {
    return this.attempts.filter((a) => a.answered >= 200 && a.answered < 300);
  }

  async listen(): Promise<void> {
    const app = Fastify();
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.post('/hook', async (request, reply) => {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const body = request.body as string;
      const signatureValid = verify(this.secret, String(request.headers['x-sendgate-signature']), String(request.headers['x-sendgate-event-id']), body);
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.gate !== undefined) await this.gate;
      const answered = this.status;
      this.attempts.push({ eventId: String(request.headers['x-sendgate-event-id']), body, signatureValid, answered });
      this.inFlight--;
      return reply.code(answered).send({ ok: answered < 300 });
    });
    await app.listen({ host: '127.0.0.1', port: this.port });
    this.port = (app.server.address() as { port: number }).port;
    this.app = app;
  }

  async close(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }
}

/** Verification as a tenant would write it, straight from node:crypto. */
function verify(secret: string, header: string, eventId: string, rawBody: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300 || typeof parts.v1 !== 'string') return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${eventId}.${rawBody}`).digest('hex'));
  const got = Buffer.from(parts.v1);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
