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
