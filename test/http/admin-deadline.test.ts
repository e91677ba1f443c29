/**
 * Run-time control and deadline-aware admission through the real gateway and simulator:
 * limits and pauses change the next decision; a message that cannot make its deadline is refused
 * with 429 + Retry-After and nothing is stored.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../src/store/embedded/database.js';
import { NUMBER, eventually, startStack, textBody, type Stack } from '../support/stack.js';

const ADMIN = 'admin-token-0123456789';
/** The recipient of the message refused for its deadline. */
const REFUSED_TO = '+16505559999';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    gateway: { admin: { token: ADMIN } },
    numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-acme-token', mps: 2, burst: 1 }],
  });
});
afterAll(() => stack?.close());

async function admin(method: 'PUT' | 'POST', path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: any }> {
  const res = await request(`${stack.gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: await res.body.json() };
}

const lane = () => stack.gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === NUMBER)!;

describe('admin API', () => {
  it('refuses a wrong token and unknown numbers', async () => {
    expect((await admin('POST', `/admin/numbers/${NUMBER}/pause`, undefined, 'wrong-token-0000000')).status).toBe(403);
    expect((await admin('POST', '/admin/numbers/424242/pause')).status).toBe(404);
    expect((await admin('PUT', `/admin/numbers/${NUMBER}/limits`, { mps: -1 })).status).toBe(400);
    expect((await admin('PUT', `/admin/numbers/${NUMBER}/limits`, { colour: 'red' })).status).toBe(400);
  });

  it('changes limits for the next decision', async () => {
    expect((await stack.send(textBody('+16505550900'))).status).toBe(202); // lanes exist once used
    const before = lane().effectiveMps;
    const res = await admin('PUT', `/admin/numbers/${NUMBER}/limits`, { mps: 40, burst: 5 });
    expect(res.status).toBe(200);
    expect(lane().effectiveMps).toBeGreaterThan(before);
    expect(lane().configuredMps).toBe(40);
    await admin('PUT', `/admin/numbers/${NUMBER}/limits`, { mps: 2, burst: 1 });
    expect(lane().configuredMps).toBe(2);
  });

  it('pause stops sends (new ones refused with 429), resume lets the queue drain', async () => {
    expect((await admin('POST', `/admin/numbers/${NUMBER}/pause`)).json).toMatchObject({ paused: true });
    const refused = await stack.send(textBody('+16505550901'));
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe(900429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(lane().paused).toBe(true);
    expect((await admin('POST', `/admin/numbers/${NUMBER}/resume`)).json).toMatchObject({ paused: false });
    const accepted = await stack.send(textBody('+16505550902'));
    expect(accepted.status).toBe(202);
    await eventually(async () => ((await stack.get(`/v1/messages/${accepted.json.messages[0].id}`)).json.state === 'sent' ? true : undefined));
  });

  it('a retry of an accepted request is answered as the original even while the number is paused', async () => {
    const key = 'retry-while-paused-1';
    const first = await stack.send(textBody('+16505550950'), { 'idempotency-key': key });
    expect(first.status).toBe(202);
    await admin('POST', `/admin/numbers/${NUMBER}/pause`);
    try {
      const retry = await stack.send(textBody('+16505550950'), { 'idempotency-key': key });
      expect(retry.status).toBe(202);
      expect(retry.json.messages[0].id).toBe(first.json.messages[0].id);
      const changed = await stack.send(textBody('+16505550950', 'changed'), { 'idempotency-key': key });
      expect(changed.status).toBe(409);
      const fresh = await stack.send(textBody('+16505550951'), { 'idempotency-key': 'another-key-1' });
      expect(fresh.status).toBe(429); // a new message is still refused while paused
    } finally {
      await admin('POST', `/admin/numbers/${NUMBER}/resume`);
    }
  });

  it('pausing a tenant pauses its numbers', async () => {
    await admin('POST', '/admin/tenants/acme/pause');
    expect(lane().paused).toBe(true);
    await admin('POST', '/admin/tenants/acme/resume');
    expect(lane().paused).toBe(false);
    expect((await admin('POST', '/admin/tenants/nobody/pause')).status).toBe(404);
  });
});

describe('deadline-aware admission', () => {
  it('refuses with 429 + Retry-After when the queue cannot send before the deadline, storing nothing', async () => {
    // 2 mps × 0.9 headroom: a backlog of 20 needs ~10 s; a 3 s deadline cannot be met behind it.
    const backlog = await Promise.all(Array.from({ length: 20 }, (_, i) => stack.send(textBody(`+1650555${String(1000 + i)}`))));
    expect(backlog.every((r) => r.status === 202)).toBe(true);
    const late = await stack.send(textBody(REFUSED_TO), { 'x-sendgate-deadline': '3', 'idempotency-key': 'late-one-1' });
    expect(late.status).toBe(429);
    expect(late.json.error.code).toBe(900429);
    expect(Number(late.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The refused message itself: not queued, not at the upstream, its idempotency key unknown.
    expect((await stack.gateway.store.unfinished()).filter((r) => r.to === REFUSED_TO.slice(1))).toEqual([]);
    expect(stack.sim.stats().pairs[NUMBER]?.[REFUSED_TO.slice(1)]).toBeUndefined();
    expect(await stack.gateway.store.findByIdempotencyKey('acme', 'late-one-1')).toBeNull();
    const patient = await stack.send(textBody('+16505559998'), { 'x-sendgate-deadline': '600' });
    expect(patient.status).toBe(202);
  });

  it('left no record of the refused message in any state (read from the store file after close)', async () => {
    // The store holds its file exclusively while the gateway runs.
    await stack.gateway.close();
    const db = new Database(join(stack.dataDir, DB_FILE), { readonly: true, fileMustExist: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM messages WHERE to_digits = ?').get(REFUSED_TO.slice(1))).toEqual({ n: 0 });
      // The file is the right one: the patient message sent after it is there.
      expect(db.prepare('SELECT count(*) AS n FROM messages WHERE to_digits = ?').get('16505559998')).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });
});
