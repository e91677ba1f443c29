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

/** An upstream that accepts everything and records recipients in the order requests leave. */
function recordingUpstream(): Upstream & { departed: string[] } {
  let n = 0;
  const departed: string[] = [];
  return {
    departed,
    send(req: UpstreamRequest): Promise<UpstreamResult> {
      departed.push((JSON.parse(req.body) as { to: string }).to.replace('+', ''));
      return new Promise((resolve) => setImmediate(() => resolve({ kind: 'ok', status: 200, wamid: `wamid.${++n}`, bodyText: '{}' })));
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

  async function rigWith(mps: number): Promise<Rig> {
    upstream = recordingUpstream();
    rig = await makeRig({
      baseUrl: 'http://127.0.0.1:9',
      numbers: { [NUMBER]: { tenantId: 'acme', accessToken: 'tok', mps, burst: 20 } },
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
