/**
 * Over HTTP: the consent API on its own Fastify app, and the real send route (buildApp) with the
 * policy engine admitting, so refusals come back as the Graph envelope with their status.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { TenantRegistry } from '../../src/gateway/tenants.js';
import { consentRoutes } from '../../src/http/routes/consent.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import type { MessageRecord } from '../../src/store/types.js';
import { openStore } from '../../src/store/index.js';
import { API_KEY, harness, NUMBER, type Harness } from './harness.js';

let h: Harness;
let app: FastifyInstance;
const submitted: MessageRecord[] = [];
let closeStore: () => Promise<void>;

beforeAll(async () => {
  h = await harness({ policy: { optIn: 'enforce' }, tenant: { messagingLimit: 250 } });
  const store = await openStore(h.config.storage, h.clock);
  closeStore = () => store.close();
  const tenants = new TenantRegistry(h.config);
  app = await buildApp({
    logger: false,
    deps: {
      config: h.config, tenants, store, clock: h.clock, policy: h.engine,
      metrics: new GatewayMetrics(() => []),
      coreLoaded: () => true,
      // The dispatcher is not under test: accepted records are collected, never sent.
      dispatch: { submit: (r) => submitted.push(r), estimateWaitMs: () => 0, queued: () => 0, waitForOutcome: async () => null },
    },
    control: { setLimits() {}, pause() {}, resume() {}, pauseTenant() {}, resumeTenant() {} },
    plugins: [(instance) => consentRoutes(instance, { tenants, consent: h.engine, clock: h.clock })],
  });
});
afterAll(async () => {
  await app?.close();
  await closeStore?.();
  h?.engine.close();
});

const auth = { authorization: `Bearer ${API_KEY}` };
const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { ...auth, ...headers }, payload: payload as string });
const send = (to: string, body: Record<string, unknown>) =>
  post(`/v23.0/${NUMBER}/messages`, { messaging_product: 'whatsapp', to, ...body });
const tpl = { type: 'template', template: { name: 'order_update', language: { code: 'en_US' }, category: 'utility' } };

describe('consent API', () => {
  it('records one opt-in and reads it back with its history', async () => {
    const res = await post('/v1/consent', { recipient: '+1 (555) 000-0001', status: 'opt_in', source: 'checkout' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ recipient: '15550000001', status: 'opt_in', source: 'checkout', applied: true });
    const got = await app.inject({ method: 'GET', url: '/v1/consent/+15550000001', headers: auth });
    expect(got.json()).toMatchObject({ recipient: '15550000001', status: 'opt_in', source: 'checkout', history: [{ status: 'opt_in', source: 'checkout' }] });
    const none = await app.inject({ method: 'GET', url: '/v1/consent/15550009999', headers: auth });
    expect(none.json()).toEqual({ recipient: '15550009999', status: 'none', history: [] });
  });

  it('bulk imports JSON arrays and CSV (header, quotes, CRLF), all or nothing', async () => {
    const json = await post('/v1/consent/bulk', [
      { recipient: '15550000011', status: 'opt_in' },
      { recipient: '15550000012', status: 'opt_out', source: 'call-centre', at: '2026-03-01T09:00:00Z' },
    ]);
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json()).toEqual({ recorded: 2, applied: 2 });
    const csv = 'recipient,status,source\r\n+15550000021,opt_in,"web, footer form"\r\n15550000022,opt_out,\r\n\r\n';
    const res = await post('/v1/consent/bulk', csv, { 'content-type': 'text/csv' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ recorded: 2, applied: 2 });
    const got = await app.inject({ method: 'GET', url: '/v1/consent/15550000021', headers: auth });
    expect(got.json()).toMatchObject({ status: 'opt_in', source: 'web, footer form' });
    expect((await app.inject({ method: 'GET', url: '/v1/consent/15550000022', headers: auth })).json()).toMatchObject({ status: 'opt_out', source: 'import' });

    const bad = await post('/v1/consent/bulk', '15550000031,opt_in\n15550000032,maybe\n', { 'content-type': 'text/csv' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 100, error_data: { details: 'record 2: status must be "opt_in" or "opt_out"' } });
    expect((await app.inject({ method: 'GET', url: '/v1/consent/15550000031', headers: auth })).json().status).toBe('none');
  });

  it('bad input is a 400 Graph envelope; no key is a 401', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ recipient: 'abc', status: 'opt_in' }, /not a valid E\.164/],
      [{ recipient: '15550000001', status: 'yes' }, /status must be/],
      [{ recipient: '15550000001', status: 'opt_in', source: 'x'.repeat(65) }, /source must be/],
      [{ recipient: '15550000001', status: 'opt_in', at: 'yesterday' }, /at must be/],
      [{ recipient: '15550000001', status: 'opt_in', at: '2099-01-01T00:00:00Z' }, /in the future/],
      [[], /expected an object/],
    ];
    for (const [payload, details] of cases) {
      const res = await post('/v1/consent', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.error_data.details).toMatch(details);
      expect(res.json().error.fbtrace_id).toEqual(expect.any(String));
    }
    expect((await post('/v1/consent/bulk', { recipient: '15550000001' })).statusCode).toBe(400);
    expect((await post('/v1/consent/bulk', [])).statusCode).toBe(400);
    expect((await post('/v1/consent/bulk', 'a,"b', { 'content-type': 'text/csv' })).statusCode).toBe(400);
    const noKey = await app.inject({ method: 'POST', url: '/v1/consent', payload: { recipient: '15550000001', status: 'opt_in' } });
    expect(noKey.statusCode).toBe(401);
  });

  it('accepts a bulk import larger than the send body limit', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${15551000000 + i},opt_in,import-2026`).join('\n');
    expect(rows.length).toBeGreaterThan(h.config.limits.maxBodyBytes);
    const res = await post('/v1/consent/bulk', rows, { 'content-type': 'text/csv' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ recorded: 5000, applied: 5000 });
  });
});

describe('send route with policies', () => {
  it('422 envelope for a closed window; 202 once the user writes', async () => {
    const res = await send('+15550000001', { type: 'text', text: { body: 'hello' } });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ code: 131047, message: '(#131047) Re-engagement message' });
    expect(res.json().error.error_data.details).toMatch(/^policy serviceWindow/);
    h.inbound('15550000001', 'hi');
    expect((await send('+15550000001', { type: 'text', text: { body: 'hello' } })).statusCode).toBe(202);
  });

  it('opt-in enforced over HTTP; the consent API lifts it', async () => {
    const refused = await send('+15550000077', tpl);
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe(900422);
    await post('/v1/consent', { recipient: '+15550000077', status: 'opt_in' });
    expect((await send('+15550000077', tpl)).statusCode).toBe(202);
  });

  it('the messaging limit answers 429 with Retry-After, and an idempotent duplicate leaves the first send slot held', async () => {
    await post('/v1/consent/bulk', Array.from({ length: 260 }, (_, i) => ({ recipient: String(15552000000 + i), status: 'opt_in' })));
    const first = await post(`/v23.0/${NUMBER}/messages`, { messaging_product: 'whatsapp', to: '15552000259', ...tpl }, { 'idempotency-key': 'k-1' });
    expect(first.statusCode).toBe(202);
    const used = h.core.unique.count('acme', h.clock.nowMs());
    // The duplicate is admitted, finds the stored twin, and gives back only its own hold: the first send keeps its slot.
    const again = await post(`/v23.0/${NUMBER}/messages`, { messaging_product: 'whatsapp', to: '15552000259', ...tpl }, { 'idempotency-key': 'k-1' });
    expect(again.json().messages[0].id).toBe(first.json().messages[0].id);
    expect(h.core.unique.count('acme', h.clock.nowMs())).toBe(used);
    for (let i = 0; i < 250 - used; i++) expect((await send(String(15552000000 + i), tpl)).statusCode).toBe(202);
    const res = await send('15552000255', tpl);
    expect(res.statusCode).toBe(429);
    expect(res.json().error.code).toBe(900430);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(3600);
  });
});
