/**
 * The broadcast API around the run: refusals in the Graph envelope that store nothing, exclusions
 * by reason, personalisation, not_before, cancel, NDJSON uploads, tenant scoping, and the tenant
 * webhooks (one per message, one when the broadcast ends).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, NUMBER, OTHER_KEY, OTHER_NUMBER, startStack, TOKEN, type Stack } from '../support/stack.js';
import { TenantReceiver } from '../support/tenant-receiver.js';
import { announcement, broadcastBody, call, employee, JumpClock, waitForBroadcast } from './support.js';

let s: Stack;
const clock = new JumpClock();
const hooks = new TenantReceiver('whsec-broadcast-test', () => Math.floor(clock.nowMs() / 1000));

beforeAll(async () => {
  await hooks.start();
  const numbers = [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 200, burst: 20 }];
  s = await startStack({
    numbers,
    sim: { clock },
    start: { clock },
    gateway: {
      tenants: [
        { id: 'acme', apiKeys: [API_KEY], messagingLimit: 'unlimited', policy: { optIn: 'off' }, numbers, webhook: { url: hooks.url, secret: 'whsec-broadcast-test' } },
        { id: 'other', apiKeys: [OTHER_KEY], numbers: [{ phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token' }] },
      ],
    },
  });
});
afterAll(async () => {
  await s?.close();
  await hooks.stop();
});

const sent = (to: string): number => s.sim.stats().pairs[NUMBER]?.[to.replace('+', '')]?.accepted ?? 0;

describe('broadcast API', () => {
  it('refuses bad requests in the Graph envelope and stores nothing', async () => {
    const base = s.gateway.url;
    const cases: Array<[unknown, number, RegExp]> = [
      [{ ...broadcastBody([{ to: employee(1) }]), message: { ...announcement(), to: '+15550001' } }, 400, /must not carry "to"/],
      [broadcastBody([]), 400, /non-empty array/],
      [broadcastBody([{ to: employee(1), components: 'x' }]), 400, /components must be an array/],
      [{ ...broadcastBody([{ to: employee(1) }]), category: 'promo' }, 400, /category must be one of/],
      [{ ...broadcastBody([{ to: employee(1) }]), not_before: 'tomorrow' }, 400, /not_before must be an RFC 3339 time/],
      [{ ...broadcastBody([{ to: employee(1) }]), phone_number_id: OTHER_NUMBER }, 404, /Unknown phone number id/],
      [{ ...broadcastBody([{ to: employee(1) }]), message: { messaging_product: 'whatsapp', type: 'text', text: { body: 'hi' } }, recipients: [{ to: employee(1), components: [] }] }, 400, /personalisation needs a template/],
    ];
    for (const [body, status, details] of cases) {
      const res = await call(base, 'POST', '/v1/broadcasts', body);
      expect(res.status, JSON.stringify(res.json)).toBe(status);
      expect(res.json.error.error_data.details).toMatch(details);
      expect(res.json.error.fbtrace_id).toEqual(expect.any(String));
    }
    expect((await call(base, 'POST', '/v1/broadcasts', '{"phone_number_id":')).status).toBe(400);
    expect((await call(base, 'POST', '/v1/broadcasts', broadcastBody([{ to: employee(1) }]), { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await call(base, 'GET', '/v1/broadcasts/bc_nope')).status).toBe(404);
    expect(s.sim.stats().totals.accepted).toBe(0);
  });

  it('excludes invalid and duplicate recipients, personalises per recipient, and tells the tenant when it ends', async () => {
    const base = s.gateway.url;
    const recipients = [
      { to: employee(10), components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }] },
      { to: 'not-a-number' },
      { to: employee(11) },
      { to: employee(10).replace('+1', '+1 ') }, // the same person, written differently
    ];
    const res = await call(base, 'POST', '/v1/broadcasts', broadcastBody(recipients, { category: 'utility' }));
    expect(res.status).toBe(201);
    expect(res.json.plan).toMatchObject({ recipients: 4, excluded: { invalid: 1, duplicate: 1, opted_out: 0 }, sendable_now: 2, waiting_for_limit: 0, messaging_limit_free: null });
    const done = await waitForBroadcast(base, res.json.id, (v) => v.state === 'completed');
    expect(done.counts).toMatchObject({ sent: 2, queued: 0, pending: 0 });
    expect(sent(employee(10))).toBe(1);
    expect(sent(employee(11))).toBe(1);

    // One event per message (as any send) and one for the broadcast, all signed.
    const ended = await eventuallyEvent((e) => e.type === 'broadcast.ended' && e.id === res.json.id);
    expect(ended.event).toMatchObject({ state: 'completed', phoneNumberId: NUMBER, counts: { sent: 2 } });
    expect(ended.signatureValid).toBe(true);
  });

  it('waits for not_before, and cancel ends what has not been sent', async () => {
    const base = s.gateway.url;
    const later = new Date(clock.nowMs() + 3_600_000).toISOString();
    const recipients = Array.from({ length: 50 }, (_, i) => ({ to: employee(100 + i) }));
    const res = await call(base, 'POST', '/v1/broadcasts', broadcastBody(recipients, { not_before: later }));
    expect(res.status).toBe(201);
    expect(res.json.state).toBe('scheduled');
    expect(res.json.plan.eta_seconds).toBeGreaterThanOrEqual(3600);
    await new Promise((r) => setTimeout(r, 1200));
    expect(recipients.filter((r) => sent(r.to) > 0)).toEqual([]);
    // Another tenant cannot see or cancel it.
    expect((await call(base, 'GET', `/v1/broadcasts/${res.json.id}`, undefined, { authorization: `Bearer ${OTHER_KEY}` })).status).toBe(404);
    expect((await call(base, 'POST', `/v1/broadcasts/${res.json.id}/cancel`, undefined, { authorization: `Bearer ${OTHER_KEY}` })).status).toBe(404);

    clock.advance(3_600_000);
    const started = await waitForBroadcast(base, res.json.id, (v) => v.state === 'running' || v.state === 'completed');
    expect(started.state).not.toBe('scheduled');
    await waitForBroadcast(base, res.json.id, (v) => v.state === 'completed');
    expect(recipients.filter((r) => sent(r.to) !== 1)).toEqual([]);

    // A scheduled broadcast cancelled before its start sends nothing.
    const second = await call(base, 'POST', '/v1/broadcasts', broadcastBody([{ to: employee(300) }, { to: employee(301) }], { not_before: new Date(clock.nowMs() + 60_000).toISOString() }));
    const cancelled = await call(base, 'POST', `/v1/broadcasts/${second.json.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ state: 'cancelled', counts: { cancelled: 2, pending: 0, sent: 0 } });
    clock.advance(120_000);
    await new Promise((r) => setTimeout(r, 1200));
    expect(sent(employee(300)) + sent(employee(301))).toBe(0);
    expect((await call(base, 'GET', `/v1/broadcasts/${second.json.id}`)).json.state).toBe('cancelled');
  });

  it('takes a list streamed as NDJSON or CSV and plans it like a JSON one', async () => {
    const base = s.gateway.url;
    const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ to: employee(1000 + (i % 900)) })).join('\n');
    const up = await request(`${base}/v1/broadcasts/uploads`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-ndjson' }, body: lines,
    });
    const upload = (await up.body.json()) as { id: string; recipients: number };
    expect(up.statusCode).toBe(201);
    expect(upload.recipients).toBe(1000);
    const plan = await call(base, 'POST', '/v1/broadcasts', { phone_number_id: NUMBER, message: announcement(), recipients_upload: upload.id, dry_run: true });
    expect(plan.status).toBe(200);
    expect(plan.json.plan).toMatchObject({ recipients: 1000, excluded: { duplicate: 100 }, sendable_now: 900 });
    // Another tenant cannot use it; a bad line is a 400 naming it.
    const foreign = await call(base, 'POST', '/v1/broadcasts', { phone_number_id: OTHER_NUMBER, message: announcement(), recipients_upload: upload.id }, { authorization: `Bearer ${OTHER_KEY}` });
    expect(foreign.status).toBe(400);
    const bad = await request(`${base}/v1/broadcasts/uploads`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-ndjson' }, body: '{"to":"+14155550000"}\n{oops\n',
    });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as any).error.error_data.details).toMatch(/line 2/);

    // The same as CSV (curl --data-binary @list.csv), columns mapped to body parameters.
    const csv = await request(`${base}/v1/broadcasts/uploads?params=name`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/csv' },
      body: `phone,name\n"${employee(7000)}",Ana\n${employee(7001)},"Bo, Jr."\n`,
    });
    const csvUpload = (await csv.body.json()) as { id: string; recipients: number };
    expect(csv.statusCode).toBe(201);
    expect(csvUpload.recipients).toBe(2);
    const run = await call(base, 'POST', '/v1/broadcasts', { phone_number_id: NUMBER, message: announcement(), category: 'utility', recipients_upload: csvUpload.id });
    expect(run.status).toBe(201);
    await waitForBroadcast(base, run.json.id, (v) => v.state === 'completed');
    expect(sent(employee(7000)) + sent(employee(7001))).toBe(2);
    const missing = await request(`${base}/v1/broadcasts/uploads?params=office`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/csv' }, body: `phone,name\n${employee(7002)},Cy\n`,
    });
    expect(missing.statusCode).toBe(400);
    expect(((await missing.body.json()) as any).error.error_data.details).toMatch(/no column 'office'/);
  });
});

async function eventuallyEvent(match: (event: Record<string, any>) => boolean): Promise<{ event: Record<string, any>; signatureValid: boolean }> {
  const until = Date.now() + 10_000;
  for (;;) {
    const found = hooks.delivered().find((a) => match(a.event));
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`no such webhook; got ${hooks.attempts.map((a) => a.event.type).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('cancelling a running broadcast', () => {
  it('stops admitting, ends its queued messages, and every recipient is accounted for', async () => {
    const base = s.gateway.url;
    const recipients = Array.from({ length: 600 }, (_, i) => ({ to: employee(5000 + i) }));
    const res = await call(base, 'POST', '/v1/broadcasts', broadcastBody(recipients, { category: 'utility' }));
    expect(res.status).toBe(201);
    await waitForBroadcast(base, res.json.id, (v) => v.counts.sent >= 50);
    const cancelled = await call(base, 'POST', `/v1/broadcasts/${res.json.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.state).toBe('cancelled');
    // Its queued messages end at their turn in the lane (refused at departure) or as they were going.
    const after = await waitForBroadcast(base, res.json.id, (v) => v.counts.queued === 0);
    await eventuallyEvent((e) => e.type === 'broadcast.ended' && e.id === res.json.id && e.state === 'cancelled');
    const upstream = recipients.filter((r) => sent(r.to) > 0).length;
    // What went is what the counts say went; the rest was cancelled (pending or queued), none lost.
    expect(after.counts.sent).toBe(upstream);
    expect(upstream).toBeLessThan(600);
    expect(after.counts.sent + after.counts.cancelled, JSON.stringify(after.counts)).toBe(600);
    expect(after.counts).toMatchObject({ pending: 0, queued: 0, failed: 0 });
    // Nothing leaves after the cancel settled.
    await new Promise((r) => setTimeout(r, 500));
    expect(recipients.filter((r) => sent(r.to) > 0).length).toBe(upstream);
  });

  it('a free-form broadcast cancelled while its sends are retried: nothing of it leaves after the 200', async () => {
    const base = s.gateway.url;
    const recipients = Array.from({ length: 600 }, (_, i) => ({ to: employee(7000 + i) }));
    // Slow answers (more in flight at the cancel), a third of them 131000 (retried: back to `queued`).
    s.sim.setFaults({ latency: { kind: 'fixed', ms: 150 }, errorRates: { '131000': 0.3 } }, NUMBER);
    try {
      const text = { messaging_product: 'whatsapp', type: 'text', text: { body: 'The office is closed on Friday.' } };
      const res = await call(base, 'POST', '/v1/broadcasts', broadcastBody(recipients, { category: 'utility', message: text }));
      expect(res.status).toBe(201);
      await waitForBroadcast(base, res.json.id, (v) => v.counts.sent >= 50);
      const cancelled = await call(base, 'POST', `/v1/broadcasts/${res.json.id}/cancel`);
      const atAnswer = recipients.filter((r) => sent(r.to) > 0).length;
      expect(cancelled.status).toBe(200);
      expect(cancelled.json.state).toBe('cancelled');
      const after = await waitForBroadcast(base, res.json.id, (v) => v.counts.queued === 0);
      // Longer than a retry's back-off: a message back in `queued` would have left by now.
      await new Promise((r) => setTimeout(r, 3000));
      expect(recipients.filter((r) => sent(r.to) > 0).length).toBe(atAnswer);
      expect(after.counts.sent).toBe(atAnswer);
      expect(after.counts.sent + after.counts.cancelled + after.counts.failed, JSON.stringify(after.counts)).toBe(600);
    } finally {
      s.sim.setFaults(undefined, NUMBER);
    }
  });
});
