/**
 * Messages the upstream refuses, through the whole gateway: synchronous 131049 (per-user marketing
 * cap), 131026 (undeliverable) and three 131056 in a row (pair rate), and an RFC 3339 deadline met
 * by the lane. The simulator answers with the injected code; the gateway and the simulator share a
 * ManualClock, so every hold is read as an exact time and passes only when the test moves the clock.
 * A message that ends unsent reaches the tenant's webhook with its error, signed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBER, eventually } from '../support/stack.js';
import { settleLane, startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';
import { TenantReceiver } from '../support/tenant-receiver.js';

const SECRET = 'tenant-unsent-secret';
const DAY_MS = 86_400_000;
let s: E2eStack;
let receiver: TenantReceiver;

beforeAll(async () => {
  receiver = new TenantReceiver(SECRET, () => Math.floor((s?.clock.nowMs() ?? Date.now()) / 1000));
  await receiver.start();
  s = await startE2e({ tenant: { webhook: { url: receiver.url, secret: SECRET } } });
  await settleLane(s, s.clock, NUMBER, 2000);
});
afterAll(async () => {
  await s?.close();
  await receiver?.stop();
});

const iso = (ms: number) => new Date(ms).toISOString();

async function post(body: object, headers: Record<string, string> = {}): Promise<string> {
  const res = await s.send(body, headers);
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  return res.json.messages[0].id as string;
}

/** Polls the status API until the message's view satisfies `check`. */
async function viewWhen(id: string, check: (view: any) => boolean): Promise<any> {
  return eventually(async () => {
    const { json } = await s.get(`/v1/messages/${id}`);
    return check(json) ? json : undefined;
  });
}

/** The tenant webhook event for the end of message `id`, once delivered. */
async function finalEventOf(id: string): Promise<{ eventId: string; event: Record<string, any>; signatureValid: boolean }> {
  return eventually(() => receiver.delivered().find((a) => a.event.type === 'message.status' && a.event.id === id && a.event.status !== 'sent'
    && a.event.status !== 'delivered' && a.event.status !== 'read'));
}

const refusedBy = (code: string) => s.sim.stats().numbers[NUMBER]!.refused[code] ?? 0;

describe('messages the upstream refuses', () => {
  it('synchronous 131049: held 24 h, past the default deadline, so expired at once; the tenant is told; marketing to that user deferred', async () => {
    const to = user(801);
    s.sim.setFaults({ errorRates: { '131049': 1 } }, NUMBER);
    const id = await post(tpl(to, 'promo'), { 'x-sendgate-category': 'marketing' });
    const view = await s.waitForState(id, ['expired']);
    s.sim.setFaults(undefined, NUMBER);
    expect(view).toMatchObject({ attempts: 1, wamid: null, last_error: { code: 131049, httpStatus: 400 } });
    expect(refusedBy('131049')).toBe(1); // one attempt: never retried into the cap

    const final = await finalEventOf(id);
    expect(final).toMatchObject({ eventId: `evt_final_${id}`, signatureValid: true });
    expect(final.event).toMatchObject({ status: 'expired', recipient: to.slice(1), phoneNumberId: NUMBER, errors: [{ code: 131049 }] });

    const again = await s.send(tpl(to, 'promo'), { 'x-sendgate-category': 'marketing' });
    expect(again.status).toBe(422);
    expect(again.json.error.code).toBe(131049);
    expect(again.json.error.error_data.details).toMatch(/^policy marketingDeferral/);
  });

  // 131049 is Meta's per-user *marketing* cap: admission lets a utility or authentication template
  // to that user through, and the lane must send it (it used to park the recipient for 24 h).
  it('after a synchronous 131049, a utility template to that user is still sent', async () => {
    const to = user(811);
    s.sim.setFaults({ errorRates: { '131049': 1 } }, NUMBER);
    const id = await post(tpl(to, 'promo'), { 'x-sendgate-category': 'marketing' });
    await s.waitForState(id, ['expired']);
    s.sim.setFaults(undefined, NUMBER);
    const utility = await post(tpl(to, 'order_update'), { 'x-sendgate-category': 'utility' });
    await s.waitForState(utility, ['sent', 'delivered', 'read']);
  });

  it('synchronous 131049 with a deadline past the hold: that user waits 24 h while the number keeps sending', async () => {
    const [to, other] = [user(802), user(803)];
    const refusedBefore = refusedBy('131049');
    s.sim.setFaults({ errorRates: { '131049': 1 } }, NUMBER);
    const refusedAtMs = s.clock.nowMs();
    const id = await post(tpl(to, 'promo'), { 'x-sendgate-category': 'marketing', 'x-sendgate-deadline': iso(refusedAtMs + 2 * DAY_MS) });
    const held = await viewWhen(id, (v) => v.state === 'queued' && v.attempts === 1);
    s.sim.setFaults(undefined, NUMBER);
    expect(held).toMatchObject({ last_error: { code: 131049 }, next_attempt_at: iso(refusedAtMs + DAY_MS) });

    // The clock is held: another recipient's message goes now; the held one does not.
    const otherId = await post(tpl(other, 'order_update'), { 'x-sendgate-category': 'utility' });
    await s.waitForState(otherId, ['sent', 'delivered', 'read']);
    expect((await s.get(`/v1/messages/${id}`)).json).toMatchObject({ state: 'queued', attempts: 1 });
    expect(refusedBy('131049') - refusedBefore).toBe(1); // tried once
    // (Not moved past the hold: the dispatcher's one Node timer would then wait out the 24 h in real time.)
  });

  it('131026 ends the message failed with the upstream error; the tenant is told; the recipient is then refused as undeliverable', async () => {
    const to = user(804);
    s.sim.setFaults({ errorRates: { '131026': 1 } }, NUMBER);
    const id = await post(tpl(to, 'order_update'), { 'x-sendgate-category': 'utility' });
    const view = await s.waitForState(id, ['failed']);
    s.sim.setFaults(undefined, NUMBER);
    expect(view).toMatchObject({ attempts: 1, last_error: { code: 131026, title: 'Message Undeliverable', httpStatus: 400 } });

    const final = await finalEventOf(id);
    expect(final).toMatchObject({ eventId: `evt_final_${id}`, signatureValid: true });
    expect(final.event).toMatchObject({ status: 'failed', recipient: to.slice(1), wamid: null, errors: [{ code: 131026, title: 'Message Undeliverable' }] });

    const again = await s.send(tpl(to, 'order_update'), { 'x-sendgate-category': 'utility' });
    expect(again.status).toBe(422);
    expect(again.json.error.code).toBe(131026);
  });

  it('131056 three times in a row: that pair is held 1 s, then 4 s, then 16 s; others go meanwhile', async () => {
    const [to, other] = [user(805), user(806)];
    const refusedBefore = refusedBy('131056');
    s.sim.setFaults({ errorRates: { '131056': 1 } }, NUMBER);
    const t0 = s.clock.nowMs();
    const id = await post(tpl(to, 'order_update'), { 'x-sendgate-category': 'utility' });
    const heldUntil = async (attempts: number) => (await viewWhen(id, (v) => v.state === 'queued' && v.attempts === attempts)).next_attempt_at;

    // Each hold ends only when the clock passes it (the dispatcher's timer still takes that long in
    // real time: 1 s, then 4 s; the 16 s hold is read, not waited out).
    expect(await heldUntil(1)).toBe(iso(t0 + 1000));
    s.clock.advance(1000);
    expect(await heldUntil(2)).toBe(iso(t0 + 1000 + 4000));
    s.clock.advance(4000);
    expect(await heldUntil(3)).toBe(iso(t0 + 5000 + 16_000));
    expect(refusedBy('131056') - refusedBefore).toBe(3);
    s.sim.setFaults(undefined, NUMBER);

    // Held pair, free number: another recipient goes with the clock where it is.
    const otherId = await post(tpl(other, 'order_update'), { 'x-sendgate-category': 'utility' });
    await s.waitForState(otherId, ['sent', 'delivered', 'read']);
    expect((await s.get(`/v1/messages/${id}`)).json).toMatchObject({ state: 'queued', attempts: 3 });
  });

  it('an RFC 3339 X-Sendgate-Deadline is the one the lane keeps: a message whose hold outlives it expires unsent', async () => {
    const to = user(807);
    const nowMs = s.clock.nowMs();
    // Accepted with the instant as given (an offset is honoured), refused without a zone.
    const plain = await post(tpl(user(808), 'order_update'), { 'x-sendgate-category': 'utility', 'x-sendgate-deadline': iso(nowMs + 3_600_000) });
    expect((await s.get(`/v1/messages/${plain}`)).json.deadline_at).toBe(iso(nowMs + 3_600_000));
    const inTwoHours = new Date(nowMs + 2 * 3_600_000);
    const withOffset = `${iso(inTwoHours.getTime() + 5.5 * 3_600_000).slice(0, 19)}+05:30`;
    const offsetId = await post(tpl(user(809), 'order_update'), { 'x-sendgate-category': 'utility', 'x-sendgate-deadline': withOffset });
    expect((await s.get(`/v1/messages/${offsetId}`)).json.deadline_at).toBe(iso(Math.floor(inTwoHours.getTime() / 1000) * 1000));
    const noZone = await s.send(tpl(user(810), 'order_update'), { 'x-sendgate-deadline': iso(nowMs + 3_600_000).slice(0, 19) });
    expect(noZone.status).toBe(400);
    expect(noZone.json.error.code).toBe(100);

    // 131056 holds the pair 1 s; the deadline is half a second away: expired, not sent later.
    s.sim.setFaults({ errorRates: { '131056': 1 } }, NUMBER);
    const id = await post(tpl(to, 'order_update'), { 'x-sendgate-category': 'utility', 'x-sendgate-deadline': iso(nowMs + 500) });
    const view = await s.waitForState(id, ['expired']);
    s.sim.setFaults(undefined, NUMBER);
    expect(view).toMatchObject({ attempts: 1, deadline_at: iso(nowMs + 500), last_error: { code: 131056 } });
    expect((await finalEventOf(id)).event).toMatchObject({ status: 'expired', errors: [{ code: 131056 }] });
  });
});
