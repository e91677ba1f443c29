/**
 * The send route's answers beyond 202, through a real gateway and the simulator: `Prefer: wait`
 * ending in the upstream's own refusal, 502 (no upstream answer, attempts used up) or 504 (expired
 * without an answer), and concurrent requests sharing one Idempotency-Key (one message stored and
 * sent; the losers charge no policy budget).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../src/store/embedded/database.js';
import { API_KEY, NUMBER, OTHER_KEY, OTHER_NUMBER, eventually, startStack, templateBody, textBody, type Stack } from '../support/stack.js';

const FAULTY = '1009';
let stack: Stack;
beforeAll(async () => {
  const numbers = [
    { phoneNumberId: NUMBER, accessToken: 'EAAG-acme-token', mps: 80, burst: 80 },
    { phoneNumberId: FAULTY, accessToken: 'EAAG-faulty-token', mps: 80, burst: 80 },
  ];
  stack = await startStack({
    numbers,
    gateway: {
      tenants: [
        // Every attempt to a recipient spends a pair-rate token: a fast pair rate lets the eight
        // attempts of the 502 case go at the retry backoff instead of one per 6 s.
        { id: 'acme', apiKeys: [API_KEY], numbers, policy: { pairRate: { intervalSec: 0.05, burst: 10 } } },
        { id: 'other', apiKeys: [OTHER_KEY], numbers: [{ phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token' }] },
      ],
    },
  });
});
afterAll(() => stack?.close());

const onFaulty = (body: object, headers: Record<string, string>) => stack.send(body, headers, `/v23.0/${FAULTY}/messages`);

function expectGraphError(json: any, code: number): void {
  expect(json.error).toMatchObject({ code, type: 'OAuthException', error_data: { messaging_product: 'whatsapp' } });
  expect(json.error.message).toMatch(new RegExp(`^\\(#${code}\\) `));
  expect(typeof json.error.fbtrace_id).toBe('string');
}

describe('Prefer: wait', () => {
  it('a refusal from the upstream comes back as the upstream gave it, with the message id', async () => {
    stack.sim.setFaults({ errorRates: { '131026': 1 } }, FAULTY);
    try {
      const res = await onFaulty(textBody('+16505558001'), { prefer: 'wait=10' });
      expect(res.status).toBe(400);
      expect(res.headers['preference-applied']).toBe('wait=10');
      const id = res.headers['x-sendgate-message-id'] as string;
      expect(id).toMatch(/^sg_/);
      expectGraphError(res.json, 131026);
      expect(res.json.gateway_id).toBe(id);
      expect((await stack.get(`/v1/messages/${id}`)).json).toMatchObject({ state: 'failed', attempts: 1, last_error: { code: 131026 } });
    } finally {
      stack.sim.setFaults(undefined, FAULTY);
    }
  });

  it('502 when every attempt went unanswered (connection reset) and the message failed', async () => {
    stack.sim.setFaults({ resetRate: 1 }, FAULTY);
    try {
      const res = await onFaulty(textBody('+16505558002'), { prefer: 'wait=30' });
      expect(res.status).toBe(502);
      expect(res.headers['preference-applied']).toBe('wait=30');
      const id = res.headers['x-sendgate-message-id'] as string;
      // No upstream code to pass on: Graph's "Something went wrong", and what happened in the details.
      expectGraphError(res.json, 131000);
      expect(res.json.error.error_data.details).toContain(`Message ${id} ended failed`);
      const view = (await stack.get(`/v1/messages/${id}`)).json;
      expect(view).toMatchObject({ state: 'failed', attempts: stack.config.dispatch.maxAttempts, wamid: null, last_error: { code: -1, httpStatus: 0 } });
      expect(stack.sim.stats().numbers[FAULTY]!.resets).toBeGreaterThanOrEqual(stack.config.dispatch.maxAttempts);
    } finally {
      stack.sim.setFaults(undefined, FAULTY);
    }
  });

  it('504 when the deadline passed with no upstream answer', async () => {
    stack.sim.setFaults({ timeoutRate: 1 }, FAULTY);
    try {
      // The first attempt times out (the stack's upstream timeout, 2 s), past the 1 s deadline: no retry.
      const res = await onFaulty(textBody('+16505558003'), { prefer: 'wait=30', 'x-sendgate-deadline': '1' });
      expect(res.status).toBe(504);
      const id = res.headers['x-sendgate-message-id'] as string;
      expectGraphError(res.json, 131000);
      expect(res.json.error.error_data.details).toContain(`Message ${id} ended expired`);
      expect((await stack.get(`/v1/messages/${id}`)).json).toMatchObject({ state: 'expired', wamid: null });
      expect(stack.sim.stats().numbers[FAULTY]!.accepted).toBe(0);
    } finally {
      stack.sim.setFaults(undefined, FAULTY);
    }
  });

  it('202 when the wait ends first; the message goes on', async () => {
    stack.sim.setFaults({ timeoutRate: 1 }, FAULTY);
    try {
      // The first attempt alone takes the stack's upstream timeout (2 s): no outcome within 1 s.
      const res = await onFaulty(textBody('+16505558004'), { prefer: 'wait=1' });
      expect(res.status).toBe(202);
      expect(res.headers['preference-applied']).toBeUndefined();
      const id = res.json.messages[0].id as string;
      expect(['queued', 'sending']).toContain((await stack.get(`/v1/messages/${id}`)).json.state);
      stack.sim.setFaults(undefined, FAULTY);
      await eventually(async () => ((await stack.get(`/v1/messages/${id}`)).json.state === 'sent' ? true : undefined));
    } finally {
      stack.sim.setFaults(undefined, FAULTY);
    }
  });
});

describe('concurrent requests with one Idempotency-Key', () => {
  it('the same body twenty times at once: one message, every answer names it, the upstream sees it once', async () => {
    const to = '+16505558101';
    const answers = await Promise.all(Array.from({ length: 20 }, () => stack.send(textBody(to, 'only once'), { 'idempotency-key': 'concurrent-same-1' })));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const ids = new Set(answers.map((a) => a.json.messages[0].id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    await eventually(async () => ((await stack.get(`/v1/messages/${id}`)).json.state === 'sent' ? true : undefined));
    expect(stack.sim.stats().pairs[NUMBER]![to.slice(1)]!.accepted).toBe(1);
    expect((await stack.gateway.store.findByIdempotencyKey('acme', 'concurrent-same-1'))?.record.id).toBe(id);
  });

  it('twenty different bodies at once: one wins (202), the rest 409; one message sent; the losers hold no tier slot', async () => {
    const recipients = Array.from({ length: 20 }, (_, i) => `+1650555${String(8200 + i)}`);
    const answers = await Promise.all(recipients.map((to) => stack.send(templateBody(to), { 'idempotency-key': 'concurrent-diff-1' })));
    const won = answers.filter((a) => a.status === 202);
    expect(won).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(19);
    for (const lost of answers.filter((a) => a.status === 409)) expect(lost.json.error.code).toBe(900409);
    const winner = won[0]!.json.contacts[0].wa_id as string;
    await eventually(async () => ((await stack.get(`/v1/messages/${won[0]!.json.messages[0].id}`)).json.state === 'sent' ? true : undefined));
    const pairs = stack.sim.stats().pairs[NUMBER]!;
    expect(recipients.map((r) => r.slice(1)).filter((r) => pairs[r] !== undefined)).toEqual([winner]);

    // Tier slots: a template to a new recipient holds one; the winner is this gateway's first
    // template (the tests above send free-form text). With a limit of 2, one more new recipient fits
    // and the next does not; had the nineteen losers kept theirs, none would.
    stack.gateway.policy.setMessagingLimit('acme', 2);
    expect((await stack.send(templateBody('+16505558301'))).status).toBe(202);
    const over = await stack.send(templateBody('+16505558302'));
    expect(over.status).toBe(429);
    expect(over.json.error.error_data.details).toMatch(/^policy messagingLimit/);
  });

  it('stored exactly one message per key (read from the store file after close)', async () => {
    await stack.gateway.close();
    const db = new Database(join(stack.dataDir, DB_FILE), { readonly: true, fileMustExist: true });
    try {
      const count = (key: string) => db.prepare('SELECT count(*) AS n FROM messages WHERE idempotency_key = ?').get(key);
      expect(count('concurrent-same-1')).toEqual({ n: 1 });
      expect(count('concurrent-diff-1')).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });
});
