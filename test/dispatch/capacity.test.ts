/**
 * In-flight capacity sized from the work: the latency histogram, Little's-law slot bounds, and a
 * dispatcher whose requests in flight follow its upstream's latency instead of a fixed pool.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { loadCore } from '../../src/core/index.js';
import { laneSlots, MAX_SIZING_LATENCY_MS, MIN_LANE_SLOTS, totalSlots } from '../../src/dispatch/capacity.js';
import { createDispatcher } from '../../src/dispatch/dispatcher.js';
import { LatencyHistogram } from '../../src/dispatch/latency.js';
import type { NumberInfo } from '../../src/dispatch/types.js';
import type { MessageRecord } from '../../src/store/types.js';
import type { Upstream, UpstreamResult } from '../../src/upstream/types.js';
import { GatewayMetrics, registerCoreMetrics } from '../../src/observability/metrics.js';
import { DISPATCH_DEFAULTS, textBody } from './harness.js';

describe('LatencyHistogram', () => {
  it('answers the prior until it has samples, then a quantile within one bucket above the truth', () => {
    const h = new LatencyHistogram(10_000, 777, 0, 0);
    expect(h.quantile(0.99, 0)).toBe(777);
    for (let i = 1; i <= 1000; i++) h.record(i, 1); // uniform 1..1000 ms
    const p99 = h.quantile(0.99, 2);
    expect(p99).toBeGreaterThanOrEqual(990);
    expect(p99).toBeLessThanOrEqual(990 * 1.19 + 1);
    const p50 = h.quantile(0.5, 2);
    expect(p50).toBeGreaterThanOrEqual(500);
    expect(p50).toBeLessThanOrEqual(500 * 1.19 + 1);
  });

  it('forgets: after a shift from 50 ms to 500 ms answers, p99 follows within a few half-lives', () => {
    const h = new LatencyHistogram(1000, 100, 0, 0);
    for (let i = 0; i < 1000; i++) h.record(50, i);
    expect(h.quantile(0.99, 1000)).toBeLessThan(70);
    for (let t = 1000; t < 5000; t += 10) h.record(500, t);
    expect(h.quantile(0.99, 5000)).toBeGreaterThanOrEqual(500);
    // Idle for a long time: everything decays away and the prior answers again.
    expect(h.quantile(0.99, 200_000)).toBe(100);
  });
});

describe('slot bounds', () => {
  it("a lane's bound is its bucket plus rate × time in flight, growing with latency and rate", () => {
    const at50 = laneSlots(80, 64, 50, 250, 10_000);
    const at500 = laneSlots(80, 64, 500, 250, 10_000);
    expect(at500).toBeGreaterThan(at50);
    // 80 msg/s × (50 commit + 250 look-ahead + 500 latency) ms × 1.25 = 80, plus the bucket.
    expect(at500).toBe(64 + 80);
    expect(laneSlots(160, 64, 500, 250, 10_000)).toBe(64 + 160);
  });

  it('is at least MIN_LANE_SLOTS, at most the per-number cap, and believes no latency beyond MAX_SIZING_LATENCY_MS', () => {
    expect(laneSlots(0.1, 1, 1, 0, 10_000)).toBe(MIN_LANE_SLOTS);
    expect(laneSlots(10_000, 64, 500, 250, 300)).toBe(300);
    expect(laneSlots(80, 64, 60_000, 250, 100_000)).toBe(laneSlots(80, 64, MAX_SIZING_LATENCY_MS, 250, 100_000));
  });

  it('the gateway-wide bound is the configured one unless the heap cannot hold that many bodies', () => {
    const gib = 1024 ** 3;
    expect(totalSlots(8192, 64 * 1024, 4 * gib)).toBe(8192);
    // A quarter of 256 MiB over 16 MiB bodies (+16 KiB each): 3 requests, raised to the minimum.
    expect(totalSlots(8192, 16 * 1024 * 1024, 256 * 1024 ** 2)).toBe(MIN_LANE_SLOTS);
    expect(totalSlots(8192, 1024 * 1024, gib)).toBe(Math.floor(gib / 4 / (1024 * 1024 + 16 * 1024)));
  });
});

/** An upstream that answers every request after `latencyMs` and records how many it held at once. */
function slowUpstream(latencyMs: number): Upstream & { peak: number; answered: number } {
  let held = 0;
  const up = {
    peak: 0,
    answered: 0,
    send(): Promise<UpstreamResult> {
      held++;
      up.peak = Math.max(up.peak, held);
      return new Promise((resolve) => setTimeout(() => {
        held--;
        up.answered++;
        resolve({ kind: 'ok', status: 200, wamid: `wamid.${up.answered}`, bodyText: '{}' });
      }, latencyMs));
    },
    close: () => Promise.resolve(),
  };
  return up;
}

function backlog(phoneNumberId: string, count: number): MessageRecord[] {
  const nowMs = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const to = `1555${String(i).padStart(7, '0')}`;
    return {
      id: `${phoneNumberId}-${i}`, tenantId: 't', phoneNumberId, to, toInput: `+${to}`, body: textBody(to), priority: 1,
      createdAtMs: nowMs, deadlineAtMs: nowMs + 600_000, idempotencyKey: null, bodyHash: null, state: 'queued', attempts: 0,
      notBeforeMs: 0, wamid: null, lastError: null, updatedAtMs: nowMs, sentAtMs: null, deliveredAtMs: null, readAtMs: null,
    } satisfies MessageRecord;
  });
}

async function runFor(latencyMs: number, mps: number, burst: number, ms: number) {
  const upstream = slowUpstream(latencyMs);
  const core = await loadCore({ gcraKeys: 1 << 12, windowKeys: 1024, uniqueKeys: 1024, repeatKeys: 1024 });
  const numbers = new Map<string, NumberInfo>([['7001', { tenantId: 't', accessToken: 'x', mps, burst }]]);
  const dispatcher = createDispatcher({
    store: { transition: () => Promise.resolve(true) },
    upstream, pacer: core.gcra, clock: systemClock, numbers,
    config: { dispatch: { ...DISPATCH_DEFAULTS, headroom: 1 }, upstream: { maxInFlight: 8192 } },
    log: { info() {}, warn() {}, error() {} },
  });
  dispatcher.recover(backlog('7001', Math.ceil((mps * ms) / 1000) + 200));
  await new Promise((r) => setTimeout(r, ms));
  const lane = dispatcher.snapshot()[0]!;
  const capacity = dispatcher.capacity();
  await dispatcher.close();
  return { upstream, lane, capacity };
}

describe('dispatcher capacity', () => {
  it("holds as many requests in flight as the number's rate needs at its upstream's latency (more than a fixed pool of 64)", async () => {
    // 100 msg/s at 1 s latency: Little's law says ~100 in flight once the bucket is spent.
    const slow = await runFor(1000, 100, 10, 2500);
    expect(slow.upstream.peak).toBeGreaterThan(80);
    expect(slow.lane.latencyP99Ms).toBeGreaterThanOrEqual(1000);
    // The paced bucket is what is left of 10 after 200 ms of jitter tokens: 1.
    expect(slow.lane.inFlightLimit).toBeGreaterThanOrEqual(laneSlots(100, 1, 1000, 250, 10_000));
    expect(slow.capacity.capacity).toBe(8192);
    expect(slow.capacity.demand).toBe(slow.lane.inFlightLimit);
    // The same number against a fast upstream is given far fewer slots.
    const fast = await runFor(20, 100, 10, 1500);
    expect(fast.lane.inFlightLimit).toBeLessThan(slow.lane.inFlightLimit / 2);
    expect(fast.upstream.peak).toBeLessThan(slow.upstream.peak);
  });
});

describe('capacity metrics', () => {
  it('export in-flight against capacity and demand, blocked numbers, slot waits and per-number latency quantiles', async () => {
    const lane = { phoneNumberId: '7001', depth: 5, oldestAgeMs: 10, effectiveMps: 80, paused: false, inFlight: 120, inFlightLimit: 150, latencyP50Ms: 210, latencyP99Ms: 480 };
    const idle = { ...lane, phoneNumberId: '7002', latencyP50Ms: Number.NaN, latencyP99Ms: Number.NaN };
    const metrics = new GatewayMetrics(() => [lane, idle], { capacity: () => ({ inFlight: 120, capacity: 8192, demand: 150, blockedLanes: 2 }) });
    metrics.slotWait.observe(0.02);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/sendgate_dispatch_in_flight 120/);
    expect(text).toMatch(/sendgate_dispatch_capacity 8192/);
    expect(text).toMatch(/sendgate_dispatch_demand 150/);
    expect(text).toMatch(/sendgate_dispatch_blocked_numbers 2/);
    expect(text).toMatch(/sendgate_in_flight_limit\{number="7001"\} 150/);
    expect(text).toMatch(/sendgate_dispatch_slot_wait_seconds_count 1/);
    expect(text).toMatch(/sendgate_upstream_latency_seconds\{number="7001",quantile="0.99"\} 0.48/);
    // A number without answers yet has no latency series (rather than NaN).
    expect(text).not.toMatch(/sendgate_upstream_latency_seconds\{number="7002"/);
  });
});

describe('core table metrics', () => {
  it('export refusals of a full table, live keys and capacity per table', async () => {
    const metrics = new GatewayMetrics(() => []);
    registerCoreMetrics(metrics.registry, () => ({ tableFull: { gcra: 3, window: 0 }, liveKeys: { gcra: 1020, window: 4 }, capacity: { gcra: 1024, window: 1024 } }));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/sendgate_core_table_full_total\{table="gcra"\} 3/);
    expect(text).toMatch(/sendgate_core_table_keys\{table="gcra"\} 1020/);
    expect(text).toMatch(/sendgate_core_table_capacity\{table="window"\} 1024/);
  });
});
