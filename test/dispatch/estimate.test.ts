/** The wait estimate behind ingress's deadline check: priority and a held recipient. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadCore } from '../../src/core/index.js';
import { estimateWaitMs } from '../../src/dispatch/control.js';
import { DispatchState } from '../../src/dispatch/state.js';
import { DISPATCH_DEFAULTS } from './harness.js';

describe('estimateWaitMs', () => {
  it('counts only priority 0 ahead of a priority-0 message, and waits out its recipient\'s hold', async () => {
    const core = await loadCore({ gcraKeys: 1024, windowKeys: 1024, uniqueKeys: 1024, repeatKeys: 1024 });
    const clock = new ManualClock(1_000_000);
    const s = new DispatchState({
      store: { transition: async () => true }, upstream: { send: async () => ({ kind: 'network', reason: 'other', message: 'x' }) },
      pacer: core.gcra, clock, numbers: new Map([['9001', { tenantId: 't', accessToken: 'x', mps: 10, burst: 10 }]]),
      config: { dispatch: DISPATCH_DEFAULTS }, log: { info() {}, warn() {}, error() {} },
    });
    const lane = s.laneFor('9001', 't');
    lane.depth = 100; // e.g. 100 marketing messages waiting, none of priority 0
    expect(estimateWaitMs(s, '9001')).toBeCloseTo(10_000 / 0.9, 0);
    expect(estimateWaitMs(s, '9001', { priority: 1 })).toBeCloseTo(10_000 / 0.9, 0);
    expect(estimateWaitMs(s, '9001', { priority: 0 })).toBe(0);
    lane.park('15550001', clock.nowMs() + 64_000, true);
    expect(estimateWaitMs(s, '9001', { priority: 0, to: '15550001' })).toBe(64_000);
    // A 131049 deferral park (no pair strike) is left to the policy's refusal.
    lane.park('15550003', clock.nowMs() + 86_400_000, false);
    expect(estimateWaitMs(s, '9001', { priority: 0, to: '15550003' })).toBe(0);
    expect(estimateWaitMs(s, '9001', { priority: 0, to: '15550002' })).toBe(0);
  });
});
