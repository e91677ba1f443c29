/**
 * The send route end to end: a real gateway in front of the real simulator. Every bad request gets
 * its documented status and the Graph envelope, and leaves nothing stored and nothing sent.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../src/store/embedded/database.js';
import { API_KEY, NUMBER, OTHER_KEY, OTHER_NUMBER, eventually, startStack, templateBody, textBody, type Stack } from '../support/stack.js';

/** Each describe has its own gateway: the bad-input one is closed at its end to read its store. */
let stack: Stack;
function withStack(): void {
  beforeAll(async () => {
    stack = await startStack({ gateway: { limits: { maxBodyBytes: 4096 } } });
  });
  afterAll(() => stack?.close());
}

function expectEnvelope(json: any, code: number): void {
  expect(json.error).toMatchObject({ code, error_data: { messaging_product: 'whatsapp' } });
  expect(json.error.message).toMatch(new RegExp(`^\\(#${code}\\) `));
  expect(typeof json.error.error_data.details).toBe('string');
  expect(typeof json.error.fbtrace_id).toBe('string');
  expect(JSON.stringify(json)).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
}

describe('bad input: documented status, Graph envelope, nothing stored, nothing sent', () => {
  withStack();
  const cases: Array<[string, () => Promise<{ status: number; json: any }>, number, number]> = [
    ['malformed JSON', () => stack.send('{"to": '), 400, 100],
    ['empty body', () => stack.send(''), 400, 100],
    ['wrong types', () => stack.send({ ...textBody(), text: { body: 42 } }), 400, 100],
    ['message type not a string', () => stack.send({ ...textBody(), type: 42 }), 400, 100],
    ['bad to', () => stack.send(textBody('not-a-number')), 400, 100],
    ['too short to', () => stack.send(textBody('+123')), 400, 100],
    ['wrong content type', () => stack.send(JSON.stringify(textBody()), { 'content-type': 'text/plain' }), 400, 100],
    ['prototype pollution (__proto__)', () => stack.send('{"messaging_product":"whatsapp","to":"+16505551234","type":"text","text":{"body":"x"},"__proto__":{"polluted":true}}'), 400, 100],
    ['prototype pollution (constructor.prototype)', () => stack.send('{"messaging_product":"whatsapp","to":"+16505551234","type":"text","text":{"body":"x"},"constructor":{"prototype":{"polluted":true}}}'), 400, 100],
    ['oversize body', () => stack.send(textBody('+16505551234', 'x'.repeat(5000))), 413, 100],
    ['missing key', () => stack.send(textBody(), { authorization: '' }), 401, 190],
    ['wrong key', () => stack.send(textBody(), { authorization: 'Bearer nope-nope-nope' }), 401, 190],
    // 404 like an unknown number: a tenant cannot probe which numbers other tenants own.
    ["another tenant's number", () => stack.send(textBody(), {}, `/v23.0/${OTHER_NUMBER}/messages`), 404, 100],
    ['unknown number', () => stack.send(textBody(), {}, '/v23.0/999999/messages'), 404, 100],
    ['bad idempotency key', () => stack.send(textBody(), { 'idempotency-key': 'a b' }), 400, 100],
    ['bad deadline header', () => stack.send(textBody(), { 'x-sendgate-deadline': 'tomorrow' }), 400, 100],
    ['bad category header', () => stack.send(textBody(), { 'x-sendgate-category': 'spam' }), 400, 100],
  ];
  for (const [name, call, status, code] of cases) {
    it(name, async () => {
      const res = await call();
      expect(res.status).toBe(status);
      expectEnvelope(res.json, code);
      // Nothing waiting in the queue and nothing reached the upstream, right after this refusal.
      expect(await stack.gateway.store.unfinished()).toEqual([]);
      expect(stack.sim.stats().totals).toEqual({ accepted: 0, refused: 0 });
    });
  }

  it('stored nothing for all of the above: no message in any state, no idempotency key', async () => {
    // The store holds its file exclusively while the gateway runs: read it once the gateway is closed.
    await stack.gateway.close();
    const db = new Database(join(stack.dataDir, DB_FILE), { readonly: true, fileMustExist: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT count(*) AS n FROM idempotency').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});

describe('accepted sends', () => {
  withStack();
  it('answers 202 with the Graph shape and delivers to the simulator', async () => {
    const res = await stack.send(textBody('+1 (650) 555-0001'));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '+1 (650) 555-0001', wa_id: '16505550001' }],
      messages: [{ id: expect.stringMatching(/^sg_/), message_status: 'accepted' }],
    });
    const id = res.json.messages[0].id;
    const status = await eventually(async () => {
      const s = await stack.get(`/v1/messages/${id}`);
      return s.json.state === 'sent' || s.json.state === 'delivered' || s.json.state === 'read' ? s : undefined;
    });
    expect(status.json).toMatchObject({ id, attempts: 1, wamid: expect.stringMatching(/^wamid\./), last_error: null });
  });

  it('accepts the unversioned path some SDKs produce', async () => {
    const res = await stack.send(templateBody(), {}, `/${NUMBER}/messages`);
    expect(res.status).toBe(202);
  });

  it('keeps message status tenant-scoped', async () => {
    const res = await stack.send(textBody());
    const id = res.json.messages[0].id;
    expect((await stack.get(`/v1/messages/${id}`, { authorization: `Bearer ${OTHER_KEY}` })).status).toBe(404);
    expect((await stack.get(`/v1/messages/${id}`, {})).status).toBe(401);
    expect((await stack.get('/v1/messages/sg_nope')).status).toBe(404);
  });

  it('Idempotency-Key: same body → same message, different body → 409', async () => {
    const key = `idem-${Date.now()}`;
    const a = await stack.send(textBody('+16505550002', 'once'), { 'idempotency-key': key });
    const b = await stack.send(textBody('+16505550002', 'once'), { 'idempotency-key': key });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.json.messages[0].id).toBe(a.json.messages[0].id);
    const c = await stack.send(textBody('+16505550002', 'twice'), { 'idempotency-key': key });
    expect(c.status).toBe(409);
    expectEnvelope(c.json, 900409);
    await eventually(async () => ((await stack.get(`/v1/messages/${a.json.messages[0].id}`)).json.wamid ? true : undefined));
    expect(stack.sim.stats().pairs[NUMBER]?.['16505550002']?.accepted).toBe(1);
  });

  it('Prefer: wait=N returns the upstream answer with the wamid', async () => {
    const res = await stack.send(textBody('+16505550003'), { prefer: 'wait=5' });
    expect(res.status).toBe(200);
    expect(res.headers['preference-applied']).toBe('wait=5');
    expect(res.json.messages[0].id).toMatch(/^wamid\./);
    expect(res.json.messages[0].gateway_id).toMatch(/^sg_/);
  });

  it('serves health, readiness and metrics', async () => {
    expect((await stack.get('/healthz', {})).status).toBe(200);
    expect((await stack.get('/readyz', {})).json).toMatchObject({ status: 'ready' });
    const metrics = await request(`${stack.gateway.url}/metrics`);
    const text = await metrics.body.text();
    expect(text).toMatch(/sendgate_accepted_total\{tenant="acme"\} \d+/);
    expect(text).toMatch(/sendgate_rejected_total\{reason="UNAUTHORIZED"\} [1-9]/);
    expect(text).toMatch(/sendgate_queue_depth\{number="1001"\}/);
    // Every family the README lists is exported (sends happened earlier in this file).
    expect(text).toMatch(/sendgate_upstream_sends_total\{outcome="ok",code="0"\} [1-9]/);
    expect(text).toMatch(/sendgate_dispatch_latency_seconds_count [1-9]/);
    expect(text).toMatch(/sendgate_effective_rate_mps\{number="1001"\} [0-9.]+/);
    expect(text).toMatch(/sendgate_queue_oldest_age_seconds\{number="1001"\}/);
    expect(text).toContain('# TYPE sendgate_policy_refusals_total counter');
    expect(text).toMatch(/sendgate_tenant_webhook_pending \d+/);
    expect(text).toMatch(/sendgate_meta_webhook_posts_total\{result="accepted"\} \d+/);
    expect(text).not.toContain(API_KEY);
  });
});
