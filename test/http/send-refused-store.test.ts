/**
 * A send the policies admitted but the store then refused (503 storage unavailable, 409 idempotency
 * race) was not accepted: it charges nothing, so the repeated-content budget it took is given back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { loadCore } from '../../src/core/index.js';
import { TenantRegistry } from '../../src/gateway/tenants.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { createPolicyEngine, openPolicyStore, POLICY_DB_FILE, type PolicyEngine } from '../../src/policy/index.js';
import { storageUnavailable } from '../../src/store/errors.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';

const KEY = 'key-acme-refused-1';
const dir = mkdtempSync(join(tmpdir(), 'sendgate-refused-store-'));
let app: Awaited<ReturnType<typeof buildApp>>;
let engine: PolicyEngine;
let real: Store;
/** What the next enqueue does instead of storing. */
let nextEnqueue: 'fail' | 'conflict' | undefined;

beforeAll(async () => {
  const config = parseConfig({
    storage: { kind: 'embedded', path: dir },
    tenants: [{
      id: 'acme', apiKeys: [KEY], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-x' }],
      policy: { serviceWindow: 'off', repeat: { maxRecipients: 1, windowSec: 3600 } },
    }],
  });
  const clock = new ManualClock(Date.parse('2026-03-02T10:00:00Z'));
  real = await openStore(config.storage, clock);
  const store: Store = {
    kind: 'embedded',
    healthy: () => real.healthy(),
    async enqueue(message) {
      const what = nextEnqueue;
      nextEnqueue = undefined;
      if (what === 'fail') throw storageUnavailable(new Error('SQLITE_FULL: database or disk is full'));
      if (what === 'conflict') return { kind: 'conflict' };
      return real.enqueue(message);
    },
    unfinished: () => real.unfinished(),
    queueCounts: () => real.queueCounts(),
    queuePage: (query) => real.queuePage(query),
    controlEntries: () => real.controlEntries(),
    putControl: (key, value) => real.putControl(key, value),
    get: (tenantId, id) => real.get(tenantId, id),
    findByWamid: (wamid) => real.findByWamid(wamid),
    findByIdempotencyKey: (tenantId, key) => real.findByIdempotencyKey(tenantId, key),
    transition: (id, change) => real.transition(id, change),
    listEnded: (query) => real.listEnded(query),
    requeue: (id, change) => real.requeue(id, change),
    close: () => real.close(),
  };
  const core = await loadCore(config.core);
  engine = createPolicyEngine({ config, core, clock, store: openPolicyStore(join(dir, POLICY_DB_FILE)) });
  app = await buildApp({
    logger: false,
    deps: {
      config, tenants: new TenantRegistry(config), store, clock, policy: engine,
      metrics: new GatewayMetrics(() => []), coreLoaded: () => true,
      dispatch: { submit: () => undefined, estimateWaitMs: () => 0, queued: () => 0, waitForOutcome: async () => null },
    },
    control: { setLimits() {}, pause() {}, resume() {}, pauseTenant() {}, resumeTenant() {} },
  });
});
afterAll(async () => {
  await app?.close();
  engine?.close();
  await real?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function send(to: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await app.inject({
    method: 'POST', url: '/v23.0/1001/messages',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    payload: { messaging_product: 'whatsapp', to, type: 'text', text: { body } },
  });
  return { status: res.statusCode, json: res.json() };
}

describe('repeat budget when the store refuses the send', () => {
  it('503: the slot is given back, the next recipient of the same content is accepted', async () => {
    nextEnqueue = 'fail';
    const refused = await send('+16505550001', 'Spring sale: 20% off today');
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe(900503);
    expect((await send('+16505550002', 'Spring sale: 20% off today')).status).toBe(202);
    // The budget is real: one recipient per window.
    const third = await send('+16505550003', 'Spring sale: 20% off today');
    expect(third.status).toBe(422);
    expect(third.json.error.code).toBe(900423);
  });

  it('409 (an idempotency race lost at the store): the slot is given back too', async () => {
    nextEnqueue = 'conflict';
    const refused = await send('+16505550011', 'Autumn sale: 30% off today', { 'idempotency-key': 'race-1' });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe(900409);
    expect((await send('+16505550012', 'Autumn sale: 30% off today')).status).toBe(202);
  });

  it('a refused retry to a recipient already counted takes nothing from the message counted before', async () => {
    expect((await send('+16505550021', 'Winter sale: 40% off today')).status).toBe(202);
    nextEnqueue = 'fail';
    expect((await send('+16505550021', 'Winter sale: 40% off today')).status).toBe(503);
    // 021 still holds the only slot: another recipient is refused.
    expect((await send('+16505550022', 'Winter sale: 40% off today')).status).toBe(422);
  });
});
