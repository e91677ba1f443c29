/**
 * Paged lanes: the store is the queue. A lane holds a bounded window of its number's messages and
 * pages the rest in service order (priority, due time, arrival), from boot on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../src/store/types.js';
import type { Upstream, UpstreamRequest, UpstreamResult } from '../../src/upstream/types.js';
import { makeRig, until, type Rig } from './harness.js';

const WINDOW = 32;
const NUMBER = '8001';

/** Recipient the upstream answers 131049 (per-user marketing cap: the gateway holds it for a day). */
const CAPPED = '15550009999';

/** An upstream that accepts everything but CAPPED and records recipients in the order requests leave. */
function recordingUpstream(): Upstream & { departed: string[] } {
  let n = 0;
  const departed: string[] = [];
  return {
    departed,
    send(req: UpstreamRequest): Promise<UpstreamResult> {
      const to = (JSON.parse(req.body) as { to: string }).to.replace('+', '');
      departed.push(to);
      const result: UpstreamResult = to === CAPPED
        ? { kind: 'error', status: 400, code: 131049, title: 'Marketing deferred', details: '', bodyText: '{}' }
        : { kind: 'ok', status: 200, wamid: `wamid.${++n}`, bodyText: '{}' };
      return new Promise((resolve) => setImmediate(() => resolve(result)));
    },
    close: () => Promise.resolve(),
  };
}

describe('paged lanes', () => {
  let rig: Rig | undefined;
  let upstream: ReturnType<typeof recordingUpstream>;

  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  async function rigWith(mps: number, pair?: { intervalMs: number; burst: number }): Promise<Rig> {
    upstream = recordingUpstream();
    rig = await makeRig({
      baseUrl: 'http://127.0.0.1:9',
      numbers: { [NUMBER]: { tenantId: 'acme', accessToken: 'tok', mps, burst: 20, ...(pair === undefined ? {} : { pair }) } },
      extra: { windowPerPriority: WINDOW, upstream },
    });
    return rig;
  }

  /** Stores `count` messages without handing them to the dispatcher (as a previous process left them). */
  async function backlog(r: Rig, count: number, priority: 0 | 1): Promise<MessageRecord[]> {
    const out: MessageRecord[] = [];
    const batch: Promise<MessageRecord>[] = [];
    for (let i = 0; i < count; i++) {
      batch.push(r.enqueue({ phoneNumberId: NUMBER, priority, to: `1555${String(i).padStart(7, '0')}` }));
      if (batch.length === 500) out.push(...(await Promise.all(batch.splice(0))));
    }
    out.push(...(await Promise.all(batch)));
    return out;
  }

  /** Recipients in the order their requests left (every message here has its own recipient). */
  const departed = (): string[] => upstream.departed;
  const sent = (r: Rig): number => r.events.filter((e) => e.type === 'final' && e.state === 'sent').length;

  it("recovers from counts, keeps at most a window per priority in memory, and delivers the backlog in arrival order", async () => {
    const r = await rigWith(2000);
    const stored = await backlog(r, 3000, 1);
    let maxWindow = 0;
    let maxKnown = 0;
    const sample = (): void => {
      const view = r.dispatcher.memory();
      maxKnown = Math.max(maxKnown, view.known);
      for (const lane of view.lanes) maxWindow = Math.max(maxWindow, lane.window);
    };
    const sampler = setInterval(sample, 1);
    await r.dispatcher.recover();
    sample();
    expect(r.dispatcher.queued(NUMBER)).toBeGreaterThan(0);
    await until('all sent', () => sent(r) === stored.length, 15_000);
    clearInterval(sampler);
    sample();
    expect(maxWindow).toBeGreaterThan(0);
    expect(maxWindow).toBeLessThanOrEqual(2 * WINDOW);
    // What memory holds at most: the window plus what is in flight (bounded by the lane's slots).
    expect(maxKnown).toBeLessThanOrEqual(2 * WINDOW + 2048);
    expect(maxKnown).toBeLessThan(stored.length / 2);
    expect(departed()).toEqual(stored.map((m) => m.to));
    expect(r.dispatcher.queued(NUMBER)).toBe(0);
    expect(await r.store.queueCounts()).toEqual([]);
  });

  it('an authentication message queued behind 10,000 marketing ones leaves next, across pages', async () => {
    const r = await rigWith(50);
    const marketing = await backlog(r, 10_000, 1);
    // One stored before the restart, after all the marketing ones; one submitted once running.
    const storedAuth = await r.enqueue({ phoneNumberId: NUMBER, priority: 0 });
    r.dispatcher.pause(NUMBER);
    await r.dispatcher.recover();
    await until('first pages read', () => (r.dispatcher.memory().lanes[0]?.window ?? 0) > WINDOW);
    const submittedAuth = await r.enqueue({ phoneNumberId: NUMBER, priority: 0 });
    r.dispatcher.submit(submittedAuth);
    expect(r.dispatcher.queued(NUMBER)).toBe(marketing.length + 2);
    r.dispatcher.resume(NUMBER);
    await until('four sent', () => departed().length >= 4);
    // Both authentication messages first (the one stored before boot arrived first), then marketing in order.
    expect(departed().slice(0, 4)).toEqual([storedAuth.to, submittedAuth.to, marketing[0]!.to, marketing[1]!.to]);
  });

  it('messages for a recipient parked for a day go back to the store past the bound of held ones, still queued, counted and spaced by the pair rate', async () => {
    const r = await rigWith(2000, { intervalMs: 6000, burst: 1 });
    // 400 messages to the capped recipient, each followed by one to a recipient of its own.
    const capped: MessageRecord[] = [];
    const others: MessageRecord[] = [];
    for (let i = 0; i < 400; i++) {
      // A deadline past the day of the park: they wait rather than expire.
      capped.push(await r.enqueue({ phoneNumberId: NUMBER, to: CAPPED, deadlineAtMs: Date.now() + 2 * 86_400_000 }));
      others.push(await r.enqueue({ phoneNumberId: NUMBER, to: `1555${String(i).padStart(7, '0')}` }));
    }
    let maxKnown = 0;
    const sampler = setInterval(() => (maxKnown = Math.max(maxKnown, r.dispatcher.memory().known)), 1);
    await r.dispatcher.recover();
    await until('the others sent', () => sent(r) === others.length, 15_000);
    await until('the capped ones all back in the store', async () => r.dispatcher.memory().known <= 2 * 2 * WINDOW);
    clearInterval(sampler);
    // Only those in flight before the first 131049 came back reached the upstream; the rest waited
    // for the park, most of them in the store.
    expect(departed().filter((to) => to === CAPPED).length).toBeLessThan(50);
    expect(maxKnown).toBeLessThan(capped.length);
    expect(r.dispatcher.queued(NUMBER)).toBe(capped.length);
    expect(await r.store.queueCounts()).toEqual([{ phoneNumberId: NUMBER, count: capped.length }]);
    // In the store, due when the park ends: all but those held in memory (bounded) or answered 131049.
    const due = await r.store.queuePage({ phoneNumberId: NUMBER, priority: 1, after: null, dueByMs: Date.now(), limit: 1000 });
    expect(due.records.length).toBeLessThanOrEqual(2 * 2 * WINDOW);
    expect(due.nextDueMs).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    // The rest come due one pair interval apart, when each can leave.
    const later = await r.store.queuePage({ phoneNumberId: NUMBER, priority: 1, after: null, dueByMs: Date.now() + 30 * 86_400_000, limit: 1000 });
    const dueTimes = later.records.map((m) => m.notBeforeMs).filter((t) => t > Date.now() + 23 * 3_600_000);
    expect(dueTimes.length).toBeGreaterThan(capped.length / 2);
    for (let i = 1; i < dueTimes.length; i++) expect(dueTimes[i]! - dueTimes[i - 1]!).toBeGreaterThanOrEqual(6000);
  });

  it('a message submitted while the window is full stays in the store and is paged in its turn', async () => {
    const r = await rigWith(2000);
    r.dispatcher.pause(NUMBER);
    const records = await backlog(r, 3 * WINDOW, 1);
    for (const m of records) r.dispatcher.submit(m);
    const view = r.dispatcher.memory().lanes[0]!;
    expect(view.window).toBe(WINDOW);
    expect(view.inStore).toBe(2 * WINDOW);
    expect(r.dispatcher.queued(NUMBER)).toBe(3 * WINDOW);
    r.dispatcher.resume(NUMBER);
    await until('all sent', () => sent(r) === records.length);
    expect(departed()).toEqual(records.map((m) => m.to));
    expect(r.dispatcher.queued(NUMBER)).toBe(0);
  });
});

describe('retries far in the future', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('wait in the store, not in memory, and are sent when due', async () => {
    let failed = 0;
    const seen = new Set<string>();
    const upstream: Upstream = {
      // Every recipient's first attempt fails with a retryable 131000; the next one goes through.
      send(req: UpstreamRequest): Promise<UpstreamResult> {
        const to = (JSON.parse(req.body) as { to: string }).to;
        const first = !seen.has(to);
        seen.add(to);
        if (first) failed++;
        const result: UpstreamResult = first
          ? { kind: 'error', status: 500, code: 131000, title: 'Something went wrong', details: '', bodyText: '{}' }
          : { kind: 'ok', status: 200, wamid: `wamid.${to}`, bodyText: '{}' };
        return new Promise((resolve) => setImmediate(() => resolve(result)));
      },
      close: () => Promise.resolve(),
    };
    // Backoff about 6 s (full jitter drawn at 0.99; above RETRY_IN_MEMORY_MS): every retry waits in the store.
    rig = await makeRig({
      baseUrl: 'http://127.0.0.1:9',
      numbers: { [NUMBER]: { tenantId: 'acme', accessToken: 'tok', mps: 1000, burst: 100 } },
      dispatch: { retryBaseMs: 6_000, retryMaxMs: 6_000 },
      extra: { windowPerPriority: WINDOW, upstream, random: () => 0.99 },
    });
    const r = rig;
    const records = await Promise.all(Array.from({ length: 50 }, (_, i) => r.enqueue({ phoneNumberId: NUMBER, priority: 0, to: `1555${String(i).padStart(7, '0')}` })));
    await r.dispatcher.recover();
    await until('every first attempt failed', () => failed === 50, 5_000);
    // Each failed message is back in the store, due in about 6 s; memory holds none of them.
    await until('all back in the store', async () => (await Promise.all(records.map((rec) => r.store.get('acme', rec.id)))).every((x) => x?.state === 'queued'), 5_000);
    expect(r.dispatcher.memory().known).toBe(0);
    expect(r.dispatcher.queued(NUMBER)).toBe(50);
    // When due, a page reads them and they are sent.
    await until('all sent when due', async () => (await Promise.all(records.map((rec) => r.store.get('acme', rec.id)))).every((x) => x?.state === 'sent'), 15_000);
    expect(r.dispatcher.queued(NUMBER)).toBe(0);
  }, 30_000);
});

