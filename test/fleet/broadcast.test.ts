/**
 * Broadcasts in a fleet: two gateway processes on one Redis, the simulator upstream.
 * - The same create with one Idempotency-Key, sent to both processes at once: one broadcast.
 * - kill -9 the process holding the broadcast's number mid-run: the other takes the lease and
 *   resumes from the committed cursor; every recipient was admitted once (one message each in
 *   the store) and reached the simulator, twice only if its message was in flight at the kill;
 *   the counts add up.
 * - Cancel through the process that does not run it: answered 200, and nothing more of it
 *   reaches the simulator after that; sent + cancelled = every recipient.
 * - The same for a free-form (`text`) broadcast whose sends the simulator answers 131000 now and
 *   then: a message `sending` at the cancel comes back `queued` for its retry after the cancel's
 *   wait, and is refused at its departure like a template.
 */
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../broadcasts/support.js';
import { API_KEY, startFleet, until, type Fleet } from '../support/fleet.js';

const NUMBERS = ['5301', '5302', '5303', '5304', '5305', '5306', '5307', '5308'];
const MPS = 50;
const BURST = 5;
const LEASE_TTL_MS = 3000;
const AUTH = { authorization: `Bearer ${API_KEY}` };

let fleet: Fleet | undefined;
let redis: Redis | undefined;
afterAll(async () => {
  redis?.disconnect();
  await fleet?.stop();
});

/** The pid in a lease's owner (`<token> <host>:<pid>:<random>`). */
function ownerPid(lease: string | null): number | null {
  if (lease === null) return null;
  const owner = lease.slice(lease.indexOf(' ') + 1).split(':');
  return Number(owner[owner.length - 2]);
}

const recipient = (n: number, i: number): string => `+1555${n}${String(i).padStart(4, '0')}`;

const TEMPLATE = { messaging_product: 'whatsapp', type: 'template', template: { name: 'notice', language: { code: 'en' } } };
const TEXT = { messaging_product: 'whatsapp', type: 'text', text: { body: 'The office is closed on Friday.' } };

const body = (number: string, count: number, message: object = TEMPLATE) => ({
  phone_number_id: number, category: 'utility', message,
  recipients: Array.from({ length: count }, (_, i) => ({ to: recipient(Number(number), i) })),
});

/** The simulator's faults on one number (replacing the ones it had there). */
async function faultsOn(f: Fleet, number: string, faults: object | null): Promise<void> {
  const res = await request(`${f.upstream.simUrl}/__sim/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumberId: number, faults }),
  });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
}

/** Gateway index holding each number's lease (-1: none). */
async function owners(f: Fleet): Promise<number[]> {
  const leases = await Promise.all(NUMBERS.map((n) => redis!.get(`${f.prefix}:{t:fleet}:lease:${n}`)));
  return leases.map((l) => f.gateways.findIndex((g) => g.child.process.exitCode === null && g.child.process.signalCode === null && g.child.process.pid === ownerPid(l)));
}

/** Waits until both processes hold leases and every number has a live owner; answers the owners. */
async function settled(f: Fleet): Promise<number[]> {
  let last: number[] = [];
  await until('every number owned, by both processes', async () => {
    last = await owners(f);
    return last.every((o) => o >= 0) && last.includes(0) && last.includes(1);
  }, 20_000);
  return last;
}

describe('broadcasts in a fleet of two gateways', () => {
  it('runs once: one broadcast for one key on both processes, resumed by the survivor of a kill -9, every recipient sent', async () => {
    fleet = await startFleet({ gateways: 2, numbers: NUMBERS, mps: MPS, burst: BURST, pairIntervalMs: 1000, leaseTtlMs: LEASE_TTL_MS });
    const f = fleet;
    redis = new Redis(f.redis.url);
    const owned = await settled(f);
    const number = NUMBERS[0]!;
    const victim = owned[0]!;
    const survivor = 1 - victim;
    const RECIPIENTS = 300;

    // One request, one key, both processes at once: one broadcast.
    const headers = { ...AUTH, 'idempotency-key': 'fleet-notice-1' };
    const [a, b] = await Promise.all(f.gateways.map((g) => call(g.url, 'POST', '/v1/broadcasts', body(number, RECIPIENTS), headers)));
    expect([a!.status, b!.status]).toEqual([201, 201]);
    expect(a!.json.id).toBe(b!.json.id);
    const id = a!.json.id as string;
    expect(a!.json.plan).toMatchObject({ recipients: RECIPIENTS, sendable_now: RECIPIENTS });

    // Mid-run, the number's owner dies.
    await until('a third sent', async () => (await f.upstream.stats()).numbers[number]!.accepted >= RECIPIENTS / 3, 20_000);
    const atKill = (await f.upstream.stats()).numbers[number]!.accepted;
    await f.kill9(victim);
    expect(atKill).toBeLessThan(RECIPIENTS);

    const base = f.gateways[survivor]!.url;
    const deadline = Date.now() + 40_000;
    let view: any;
    for (;;) {
      view = (await call(base, 'GET', `/v1/broadcasts/${id}`, undefined, AUTH)).json;
      if (view.state === 'completed' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(view.state, JSON.stringify(view)).toBe('completed');
    expect(view.counts).toMatchObject({ pending: 0, waiting_for_limit: 0, queued: 0, sent: RECIPIENTS, failed: 0, expired: 0, rejected: 0, cancelled: 0 });

    // Admitted once: one message per recipient in the store, each recorded sent.
    const statuses = await redis.hgetall(`${f.prefix}:{t:fleet}:b:${id}:s`);
    expect(Object.keys(statuses)).toHaveLength(RECIPIENTS);
    const messageIds = new Set(Object.values(statuses).map((v) => v.split(' ')[1]));
    expect(messageIds.size).toBe(RECIPIENTS);
    expect(Object.values(statuses).every((v) => v.startsWith('2 '))).toBe(true);

    // At the simulator: every recipient, a second copy only of what was in flight at the kill
    // (committed `sending`, at most the victim's look-ahead on the number).
    const got = await f.upstream.recipients(number);
    const counts = Array.from({ length: RECIPIENTS }, (_, i) => got[recipient(Number(number), i).slice(1)] ?? 0);
    expect(counts.filter((c) => c === 0)).toEqual([]);
    const twice = counts.flatMap((c, i) => (c > 1 ? [i] : []));
    expect(Math.max(...counts)).toBeLessThanOrEqual(2);
    expect(twice.length).toBeLessThanOrEqual(2 * BURST);
    // A second copy is the recipient's one message sent again (its second attempt), never a second message.
    for (const i of twice) {
      const messageId = statuses[String(i)]!.split(' ')[1]!;
      expect(Number(await redis.hget(`${f.prefix}:{t:fleet}:m:${messageId}`, 'attempts')), `recipient ${i}`).toBeGreaterThanOrEqual(2);
    }
    console.log(`fleet broadcast: ${atKill} of ${RECIPIENTS} sent at the kill; ${twice.length} in flight then went twice`);
  }, 90_000);

  it('cancelled through the process not running it: nothing of it leaves after the 200', async () => {
    const f = fleet!;
    await f.restart(f.gateways.findIndex((g) => g.child.process.exitCode !== null || g.child.process.signalCode !== null));
    const { atAnswer, view } = await cancelMidRun(f, 1, TEMPLATE, 1500);
    expect(view.counts).toMatchObject({ failed: 0 });
    expect(view.counts.sent + view.counts.cancelled).toBe(CANCEL_RECIPIENTS);
    console.log(`fleet broadcast cancel: ${atAnswer} of ${CANCEL_RECIPIENTS} sent before the cancel's 200, none after`);
  }, 60_000);

  it('a free-form broadcast cancelled while its sends are retried: nothing of it leaves after the 200', async () => {
    // Slow answers (more in flight at the cancel), a third of them 131000 (retried: back to `queued`).
    await faultsOn(fleet!, NUMBERS[2]!, { latency: { kind: 'fixed', ms: 150 }, errorRates: { '131000': 0.3 } });
    // Longer than a retry's back-off: a message back in `queued` would have left by then.
    const { atAnswer, view } = await cancelMidRun(fleet!, 2, TEXT, 3000);
    expect(view.counts.sent + view.counts.cancelled + view.counts.failed).toBe(CANCEL_RECIPIENTS);
    console.log(`fleet free-form broadcast cancel: ${atAnswer} of ${CANCEL_RECIPIENTS} sent before the cancel's 200, none after`);
  }, 60_000);
});

const CANCEL_RECIPIENTS = 400;

/**
 * A broadcast of `message` on NUMBERS[n], cancelled through the process not running it once some
 * were sent: answered 200, the owner drains it, and nothing more reaches the simulator `quietMs`
 * after that. The simulator's count at the answer, and the broadcast's view in the end.
 */
async function cancelMidRun(f: Fleet, n: number, message: object, quietMs: number): Promise<{ atAnswer: number; view: any }> {
  const owned = await settled(f);
  const number = NUMBERS[n]!;
  const owner = owned[n]!;
  const other = 1 - owner;
  const created = await call(f.gateways[owner]!.url, 'POST', '/v1/broadcasts', body(number, CANCEL_RECIPIENTS, message), AUTH);
  expect(created.status).toBe(201);
  const id = created.json.id as string;
  await until('some sent', async () => (await f.upstream.stats()).numbers[number]!.accepted >= 50, 20_000);

  const cancelled = await call(f.gateways[other]!.url, 'POST', `/v1/broadcasts/${id}/cancel`, undefined, AUTH);
  const atAnswer = (await f.upstream.stats()).numbers[number]!.accepted;
  expect(cancelled.status).toBe(200);
  expect(cancelled.json.state).toBe('cancelled');
  expect(atAnswer).toBeLessThan(CANCEL_RECIPIENTS);

  // The owner drains it: every recipient sent or cancelled (or failed, retries spent).
  let view: any;
  await until('drained', async () => {
    view = (await call(f.gateways[owner]!.url, 'GET', `/v1/broadcasts/${id}`, undefined, AUTH)).json;
    return view.counts.queued === 0;
  }, 30_000);
  await new Promise((r) => setTimeout(r, quietMs));
  expect((await f.upstream.stats()).numbers[number]!.accepted).toBe(atAnswer);
  view = (await call(f.gateways[other]!.url, 'GET', `/v1/broadcasts/${id}`, undefined, AUTH)).json;
  expect(view.state).toBe('cancelled');
  expect(view.counts).toMatchObject({ pending: 0, queued: 0, sent: atAnswer });
  return { atAnswer, view };
}
