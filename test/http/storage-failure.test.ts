/**
 * When the store cannot commit, the send route answers 503 in the Graph envelope, stores and
 * dispatches nothing, and logs the failure with the request id (never the request body).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { allowAll } from '../../src/gateway/ports.js';
import { TenantRegistry } from '../../src/gateway/tenants.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { storageUnavailable } from '../../src/store/errors.js';
import type { MessageRecord, Store } from '../../src/store/types.js';

/** A store whose disk is gone: every commit fails, as the embedded store reports it. */
const brokenStore: Store = {
  kind: 'embedded',
  healthy: () => false,
  enqueue: async () => { throw storageUnavailable(new Error('SQLITE_IOERR: disk I/O error')); },
  unfinished: async () => [],
  queueCounts: async () => [],
  queuePage: async () => ({ records: [], last: null, nextDueMs: null }),
  controlEntries: async () => [],
  putControl: async () => { throw storageUnavailable(new Error('SQLITE_IOERR: disk I/O error')); },
  get: async () => null,
  findByWamid: async () => null,
  findByIdempotencyKey: async () => { throw storageUnavailable(new Error('SQLITE_IOERR: disk I/O error')); },
  transition: async () => false,
  listEnded: async () => ({ records: [], next: null }),
  requeue: async () => null,
  close: async () => undefined,
};

const lines: string[] = [];
const submitted: MessageRecord[] = [];
let app: Awaited<ReturnType<typeof buildApp>>;

beforeAll(async () => {
  const config = parseConfig({ tenants: [{ id: 'acme', apiKeys: ['key-acme-test-1'], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-x' }] }] });
  app = await buildApp({
    logger: { level: 'info', stream: new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }) },
    deps: {
      config, tenants: new TenantRegistry(config), store: brokenStore, clock: new ManualClock(), policy: allowAll,
      metrics: new GatewayMetrics(() => []), coreLoaded: () => true,
      dispatch: { submit: (r) => submitted.push(r), estimateWaitMs: () => 0, queued: () => 0, waitForOutcome: async () => null },
    },
    control: { setLimits() {}, pause() {}, resume() {}, pauseTenant() {}, resumeTenant() {} },
  });
});
afterAll(() => app?.close());

describe('storage failure', () => {
  it('answers 503, dispatches nothing, logs the failure with the request id', async () => {
    const res = await app.inject({
      method: 'POST', url: '/v23.0/1001/messages',
      headers: { authorization: 'Bearer key-acme-test-1', 'content-type': 'application/json' },
      payload: { messaging_product: 'whatsapp', to: '+16505551234', type: 'text', text: { body: 'secret body' } },
    });
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.error.code).toBe(900503);
    expect(submitted).toEqual([]);
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'store call failed');
    expect(logged).toBeDefined();
    expect(logged.reqId).toBe(body.error.fbtrace_id);
    expect(lines.join('')).not.toContain('secret body');
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
  });
});
