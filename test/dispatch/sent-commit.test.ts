/**
 * The `sent` commit after an accepted request is tried until it lands: a store that fails for
 * minutes must not leave the record `sending` (recovery would send it a second time).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { loadCore } from '../../src/core/index.js';
import { createDispatcher } from '../../src/dispatch/dispatcher.js';
import type { MessageRecord, Transition } from '../../src/store/types.js';
import { DISPATCH_DEFAULTS, textBody } from './harness.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('sent commit', () => {
  it('is retried through a 5-minute store outage and lands once; the upstream saw one request', async () => {
    const core = await loadCore({ gcraKeys: 1024, windowKeys: 1024, uniqueKeys: 1024, repeatKeys: 1024 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const t0 = Date.now();
    const OUTAGE_MS = 5 * 60_000;
    const committed: Transition['state'][] = [];
    let sentTries = 0;
    let requests = 0;
    const dispatcher = createDispatcher({
      store: {
        transition: async (_id: string, change: Transition) => {
          if (change.state === 'sent') {
            sentTries++;
            if (Date.now() - t0 < OUTAGE_MS) throw new Error('SQLITE_IOERR: disk I/O error');
          }
          committed.push(change.state);
          return true;
        },
      },
      upstream: { send: async () => (requests++, { kind: 'ok', status: 200, wamid: 'wamid.ONE', bodyText: '{}' }) },
      pacer: core.gcra, clock: systemClock,
      numbers: new Map([['8001', { tenantId: 't', accessToken: 'x', mps: 10, burst: 10 }]]),
      config: { dispatch: DISPATCH_DEFAULTS },
      log: { info() {}, warn() {}, error() {} },
    });
    const nowMs = Date.now();
    const rec: MessageRecord = {
      id: 'm1', tenantId: 't', phoneNumberId: '8001', to: '15550001', toInput: '+15550001', body: textBody('15550001'), priority: 1,
      createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000, idempotencyKey: null, bodyHash: null, state: 'queued', attempts: 0,
      notBeforeMs: 0, wamid: null, lastError: null, updatedAtMs: nowMs, sentAtMs: null, deliveredAtMs: null, readAtMs: null,
    };
    const outcome = dispatcher.waitForOutcome('m1', 10 * 60_000);
    dispatcher.submit(rec);
    for (let i = 0; i < 8 * 60 && !committed.includes('sent'); i++) await vi.advanceTimersByTimeAsync(1000);
    expect(committed).toEqual(['sending', 'sent']);
    expect(sentTries).toBeGreaterThan(10);
    expect(requests).toBe(1);
    expect((await outcome)?.state).toBe('sent');
    await dispatcher.close();
  });
});

describe('a failing store', () => {
  it('holds dispatch with one probe commit at a time instead of spinning through the backlog, then resumes', async () => {
    const core = await loadCore({ gcraKeys: 1024, windowKeys: 1024, uniqueKeys: 1024, repeatKeys: 1024 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] });
    const t0 = Date.now();
    const OUTAGE_MS = 20_000;
    const failedAt: number[] = [];
    const sent = new Set<string>();
    const numbers = new Map(['8101', '8102', '8103', '8104', '8105'].map((id) => [id, { tenantId: 't', accessToken: 'x', mps: 50, burst: 10 }]));
    const dispatcher = createDispatcher({
      store: {
        transition: async (id: string, change: Transition) => {
          if (change.state === 'sending' && Date.now() - t0 < OUTAGE_MS) {
            failedAt.push(Date.now() - t0);
            throw new Error('SQLITE_FULL: database or disk is full');
          }
          if (change.state === 'sent') sent.add(id);
          return true;
        },
      },
      upstream: { send: async () => ({ kind: 'ok', status: 200, wamid: 'wamid.X', bodyText: '{}' }) },
      pacer: core.gcra, clock: systemClock, numbers,
      config: { dispatch: DISPATCH_DEFAULTS },
      log: { info() {}, warn() {}, error() {} },
    });
    const nowMs = Date.now();
    const records: MessageRecord[] = [];
    for (const id of numbers.keys()) {
      for (let i = 0; i < 100; i++) {
        records.push({
          id: `${id}-${i}`, tenantId: 't', phoneNumberId: id, to: `1555${i}`, toInput: `+1555${i}`, body: textBody(`1555${i}`), priority: 1,
          createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000, idempotencyKey: null, bodyHash: null, state: 'queued', attempts: 0,
          notBeforeMs: 0, wamid: null, lastError: null, updatedAtMs: nowMs, sentAtMs: null, deliveredAtMs: null, readAtMs: null,
        });
      }
    }
    dispatcher.recover(records);
    for (let i = 0; i < 60 && sent.size < records.length; i++) await vi.advanceTimersByTimeAsync(1000);
    // Commits issued before the first failure came back fail together; after that, one probe at a
    // time with a doubling back-off (0.25, 0.5, 1, 2, 4, 8, 10 s …): a handful in 19 s, not thousands.
    const afterFirstSecond = failedAt.filter((ms) => ms >= 1000);
    expect(afterFirstSecond.length).toBeLessThanOrEqual(10);
    expect(sent.size).toBe(records.length);
    await dispatcher.close();
  });
});

describe('a recovered warming-up number', () => {
  it('starts with its warm-up window full: the previous process may have sent its cap in it', async () => {
    const core = await loadCore({ gcraKeys: 1024, windowKeys: 1024, uniqueKeys: 1024, repeatKeys: 1024 });
    const sentAtMs: number[] = [];
    const t0 = Date.now();
    const dispatcher = createDispatcher({
      store: { transition: async () => true },
      upstream: { send: async () => (sentAtMs.push(Date.now() - t0), { kind: 'ok', status: 200, wamid: 'wamid.W', bodyText: '{}' }) },
      pacer: core.gcra, window: core.window, clock: systemClock,
      warmup: { capsOf: () => ({ windowMs: 600, limit: 5 }) },
      numbers: new Map([['8201', { tenantId: 't', accessToken: 'x', mps: 1000, burst: 1000 }]]),
      config: { dispatch: DISPATCH_DEFAULTS },
      log: { info() {}, warn() {}, error() {} },
    });
    const nowMs = Date.now();
    dispatcher.recover(Array.from({ length: 10 }, (_, i): MessageRecord => ({
      id: `w${i}`, tenantId: 't', phoneNumberId: '8201', to: `1555${i}`, toInput: `+1555${i}`, body: textBody(`1555${i}`), priority: 1,
      createdAtMs: nowMs, deadlineAtMs: nowMs + 600_000, idempotencyKey: null, bodyHash: null, state: 'queued', attempts: 0,
      notBeforeMs: 0, wamid: null, lastError: null, updatedAtMs: nowMs, sentAtMs: null, deliveredAtMs: null, readAtMs: null,
    })));
    for (let i = 0; i < 100 && sentAtMs.length < 10; i++) await new Promise((r) => setTimeout(r, 50));
    await dispatcher.close();
    // Nothing leaves during the first window (600 ms + the 200 ms jitter budget); then 5 per window.
    expect(sentAtMs.length).toBe(10);
    expect(Math.min(...sentAtMs)).toBeGreaterThanOrEqual(790);
  });
});

describe('throttled attempts after a restart', () => {
  it('do not count against maxAttempts: a record with 4 of 5 attempts throttled still has its retries', async () => {
    const core = await loadCore({ gcraKeys: 1024, windowKeys: 1024, uniqueKeys: 1024, repeatKeys: 1024 });
    let requests = 0;
    const finals: string[] = [];
    const dispatcher = createDispatcher({
      store: { transition: async () => true },
      upstream: { send: async () => (requests++, { kind: 'error', status: 500, code: 131000, title: 'Something went wrong', details: '', bodyText: '{}' }) },
      pacer: core.gcra, clock: systemClock,
      numbers: new Map([['8301', { tenantId: 't', accessToken: 'x', mps: 100, burst: 10 }]]),
      config: { dispatch: { ...DISPATCH_DEFAULTS, maxAttempts: 3, retryBaseMs: 1, retryMaxMs: 5 } },
      log: { info() {}, warn() {}, error() {} },
      onEvent: (e) => void (e.type === 'final' && finals.push(e.state)),
    });
    const nowMs = Date.now();
    dispatcher.recover([{
      id: 'r1', tenantId: 't', phoneNumberId: '8301', to: '15550009', toInput: '+15550009', body: textBody('15550009'), priority: 1,
      createdAtMs: nowMs, deadlineAtMs: nowMs + 600_000, idempotencyKey: null, bodyHash: null, state: 'queued', attempts: 5, throttled: 4,
      notBeforeMs: 0, wamid: null, lastError: null, updatedAtMs: nowMs, sentAtMs: null, deliveredAtMs: null, readAtMs: null,
    }]);
    for (let i = 0; i < 200 && finals.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await dispatcher.close();
    // One counted attempt before the restart, so two more before maxAttempts (3) ends it.
    expect(finals).toEqual(['failed']);
    expect(requests).toBe(2);
  });
});
