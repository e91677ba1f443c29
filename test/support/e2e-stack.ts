/**
 * End-to-end stack: the simulator and a gateway with Meta webhooks on, sharing one ManualClock, so
 * a test can jump 24 h. The simulator's signed webhooks reach the gateway for real, through a
 * relay (the simulator's webhook URL is fixed at its start, before the gateway's port is known):
 * the relay forwards the raw bytes and the signature header, and answers with the gateway's status,
 * so the simulator's retries and `flushWebhooks()` see exactly what the gateway said.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request } from 'undici';
import { ManualClock } from '../../src/clock.js';
import type { SimConfigInput } from '../../src/sim/config.js';
import { API_KEY, NUMBER, OTHER_KEY, OTHER_NUMBER, startStack, TOKEN, type Stack } from './stack.js';

export const APP_SECRET = 'e2e-app-secret';
export const VERIFY_TOKEN = 'e2e-verify-token';
export const META_PATH = '/webhooks/whatsapp';

export interface E2eOptions {
  /** Keys merged into the acme tenant (policy, messagingLimit, webhook, deadlineSec ...). */
  tenant?: Record<string, unknown>;
  /** Simulator keys (faults, webhook statuses ...); limits default to generous so only policies refuse. */
  sim?: Omit<SimConfigInput, 'webhook'> & { webhook?: Partial<NonNullable<SimConfigInput['webhook']>> };
  /** acme's number limits (default mps 1000, burst 1000: the frozen clock never refills a bucket). */
  number?: Record<string, unknown>;
  /** Top-level gateway config overrides (e.g. `core`). */
  gateway?: Record<string, unknown>;
}

export interface E2eStack extends Stack {
  clock: ManualClock;
  /** A user writes to acme's number: the simulator signs and posts the webhook; resolves once the gateway answered it. */
  inbound(from: string, text: string): Promise<void>;
  /** Plays every scheduled status now and waits until the gateway answered each webhook POST. */
  flushStatuses(): Promise<void>;
  consent(record: Record<string, unknown>): Promise<{ status: number; json: any }>;
  metrics(): Promise<string>;
  /** POST raw bytes to the gateway's Meta webhook route. */
  postMeta(body: string, headers: Record<string, string>): Promise<number>;
  /** Waits until the message reaches one of `states` and returns its view. */
  waitForState(id: string, states: string[], timeoutMs?: number): Promise<any>;
}

export async function startE2e(options: E2eOptions = {}): Promise<E2eStack> {
  // Wall-clock start: signatures carry `t` from this clock and receivers compare it with their own.
  const clock = new ManualClock(Date.now());
  const relay = await startRelay();
  const number = { phoneNumberId: NUMBER, accessToken: TOKEN, mps: 1000, burst: 1000, ...options.number };
  const { webhook: simWebhook, limits, ...simRest } = options.sim ?? {};
  let stack: Stack;
  try {
    stack = await startStack({
      numbers: [number],
      sim: {
        clock,
        ...simRest,
        limits: { mps: 10_000, burst: 10_000, pairIntervalMs: 0, ...limits },
        webhook: { url: `${relay.url}${META_PATH}`, appSecret: APP_SECRET, flushMs: 5, retryDelaysMs: [50, 200], ...simWebhook },
      },
      start: { clock },
      gateway: {
        webhooks: { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN },
        ...options.gateway,
        tenants: [
          { id: 'acme', apiKeys: [API_KEY], numbers: [number], ...options.tenant },
          { id: 'other', apiKeys: [OTHER_KEY], numbers: [{ phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token' }] },
        ],
      },
    });
  } catch (err) {
    await relay.close();
    throw err;
  }
  relay.target = stack.gateway.url;
  const base = stack.gateway.url;
  const auth = { authorization: `Bearer ${API_KEY}` };
  return {
    ...stack,
    clock,
    async inbound(from, text) {
      stack.sim.inbound({ phoneNumberId: NUMBER, from, text });
      await stack.sim.flushWebhooks();
    },
    async flushStatuses() {
      await stack.sim.flushWebhooks({ pendingStatuses: true });
    },
    async consent(record) {
      const res = await request(`${base}/v1/consent`, {
        method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(record),
      });
      return { status: res.statusCode, json: await res.body.json() };
    },
    async metrics() {
      const res = await request(`${base}/metrics`);
      return res.body.text();
    },
    async postMeta(body, headers) {
      const res = await request(`${base}${META_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      await res.body.dump();
      return res.statusCode;
    },
    async waitForState(id, states, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const { json } = await stack.get(`/v1/messages/${id}`);
        if (json !== undefined && states.includes(json.state)) return json;
        if (Date.now() > until) throw new Error(`message ${id} is ${json?.state}, not ${states.join('|')}, after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      await stack.close();
      await relay.close();
    },
  };
}

interface Relay {
  url: string;
  target: string | undefined;
  close(): Promise<void>;
}

/** Forwards POSTs byte for byte (body, content type, Meta signature) to `target`; 503 until it is set. */
async function startRelay(): Promise<Relay> {
  const relay: Relay = { url: '', target: undefined, close: async () => {} };
  const server: Server = createServer((req, res) => {
    void forward(req, relay.target).then(
      ({ status, body }) => res.writeHead(status, { 'content-type': 'application/json' }).end(body),
      () => res.writeHead(502).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  relay.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return relay;
}

async function forward(req: IncomingMessage, target: string | undefined): Promise<{ status: number; body: string }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (target === undefined) return { status: 503, body: '{}' };
  const headers: Record<string, string> = { 'content-type': String(req.headers['content-type'] ?? 'application/json') };
  const signature = req.headers['x-hub-signature-256'];
  if (typeof signature === 'string') headers['x-hub-signature-256'] = signature;
  const res = await request(`${target}${req.url ?? '/'}`, { method: 'POST', headers, body: Buffer.concat(chunks) });
  return { status: res.statusCode, body: await res.body.text() };
}

export const tpl = (to: string, name = 'promo', params: string[] = ['A-42']) => ({
  messaging_product: 'whatsapp', to, type: 'template',
  template: { name, language: { code: 'en_US' }, components: [{ type: 'body', parameters: params.map((text) => ({ type: 'text', text })) }] },
});

export const text = (to: string, body: string) => ({ messaging_product: 'whatsapp', to, type: 'text', text: { body } });

/** Distinct test recipients: +1 650 555 xxxx. */
export const user = (i: number) => `+1650555${String(i).padStart(4, '0')}`;

/** The value of the first series of `name` carrying all `labels` in Prometheus text, 0 when absent. */
export function metricValue(metrics: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inside = line.includes('{') ? line.slice(line.indexOf('{') + 1, line.lastIndexOf('}')) : '';
    if (Object.entries(labels).every(([k, v]) => inside.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/**
 * Brings a number's lane to a full pacing bucket before a test holds the clock. A lane starts in
 * debt (a full bucket, as if a burst had just left), so under a held clock even its first send
 * would wait forever. Sends one mark-as-read (no recipient: no policy budget, no pair rate, not an
 * accepted message at the simulator), moves the clock until it has gone, then by `refillMs` (at
 * least burst ÷ mps, and a warm-up window when the number has one).
 */
export async function settleLane(stack: Stack, clock: ManualClock, phoneNumberId: string, refillMs: number): Promise<void> {
  const res = await stack.send({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.settle-lane' }, {}, `/v23.0/${phoneNumberId}/messages`);
  if (res.status !== 202) throw new Error(`settleLane: mark-as-read answered ${res.status}`);
  const id = res.json.messages[0].id as string;
  for (let i = 0; ; i++) {
    if ((await stack.get(`/v1/messages/${id}`)).json.state === 'sent') break;
    if (i > 2000) throw new Error('settleLane: the mark-as-read was not sent');
    clock.advance(10);
    await new Promise((r) => setTimeout(r, 5));
  }
  clock.advance(refillMs);
}
