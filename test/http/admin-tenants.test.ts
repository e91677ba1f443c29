/**
 * Runtime management through the admin API, on a real gateway and the simulator as upstream:
 * a tenant created at run time sends through its new number with a key issued at run time; a
 * revoked key is refused; a number paused by a 190 sends again once its token is replaced;
 * deleting a tenant stops it; answers never carry a Meta token, webhook secret or stored key;
 * bad input is a 400 in the Graph envelope naming the field, and changes nothing.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, NUMBER, eventually, startStack, textBody, type Stack } from '../support/stack.js';

const ADMIN = 'admin-token-tenants-test';
const NEW_NUMBER = '3003';
const NEW_TOKEN = 'EAAG-new-3003-right';
const WRONG_TOKEN = 'EAAG-new-3003-wrong';
const SECRET = 'whsec-never-shown-1234';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    gateway: { admin: { token: ADMIN } },
    sim: { numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-acme-token' }, { phoneNumberId: '2002', accessToken: 'EAAG-other-token' }, { phoneNumberId: NEW_NUMBER, accessToken: NEW_TOKEN }] },
  });
});
afterAll(async () => {
  await stack?.close();
});

interface Answer { status: number; text: string; json: any }

async function admin(method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', path: string, body?: unknown, token = ADMIN): Promise<Answer> {
  const res = await request(`${stack.gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: text === '' ? undefined : JSON.parse(text) };
}

async function sendAs(key: string, number: string, to = '+16505551234'): Promise<{ status: number; json: any }> {
  const res = await request(`${stack.gateway.url}/v23.0/${number}/messages`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(textBody(to)),
  });
  return { status: res.statusCode, json: await res.body.json() };
}

const stateOf = async (key: string, id: string): Promise<string> => {
  const res = await request(`${stack.gateway.url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${key}` } });
  return ((await res.body.json()) as { state: string }).state;
};

const beta = {
  id: 'beta', messagingLimit: 2000,
  webhook: { url: 'http://127.0.0.1:9/hook', secret: SECRET },
  numbers: [{ phoneNumberId: NEW_NUMBER, accessToken: WRONG_TOKEN, mps: 20, burst: 5 }],
};

describe('admin API: runtime tenants, keys and tokens', () => {
  it('needs the admin token', async () => {
    const res = await admin('GET', '/admin/tenants', undefined, 'not-the-admin-token');
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe(10);
  });

  it('lists the config tenants without tokens or keys; their keys have ids', async () => {
    const res = await admin('GET', '/admin/tenants');
    expect(res.status).toBe(200);
    expect(res.json.data.map((t: any) => t.id)).toEqual(['acme', 'other']);
    const acme = res.json.data[0];
    expect(acme.source).toBe('config');
    expect(acme.numbers).toEqual([{ phoneNumberId: NUMBER, mps: 80, burst: 80 }]);
    expect(acme.apiKeys).toHaveLength(1);
    expect(acme.apiKeys[0].id).toMatch(/^ck_/);
    expect(res.text).not.toContain('EAAG');
    expect(res.text).not.toContain(API_KEY);
  });

  it('refuses bad input with a 400 naming the field, and stores nothing', async () => {
    const bad = await admin('POST', '/admin/tenants', { ...beta, numbers: [{ phoneNumberId: NEW_NUMBER, accessToken: 't', mps: 0 }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe(100);
    expect(bad.json.error.error_data.details).toMatch(/numbers\/0\/mps/);
    const unknown = await admin('POST', '/admin/tenants', { ...beta, colour: 'blue' });
    expect(unknown.status).toBe(400);
    const taken = await admin('POST', '/admin/tenants', { ...beta, numbers: [{ phoneNumberId: NUMBER, accessToken: 't' }] });
    expect(taken.status).toBe(409);
    expect(taken.json.error.code).toBe(900410);
    const badDate = await admin('POST', '/admin/tenants', { ...beta, numbers: [{ phoneNumberId: NEW_NUMBER, accessToken: 't', createdAt: '2026-02-31' }] });
    expect(badDate.status).toBe(400);
    expect((await admin('GET', '/admin/tenants/beta')).status).toBe(404);
  });

  let betaKey = '';
  let betaKeyId = '';
  let messageId = '';

  it('creates a tenant (201) whose answer holds no token or secret; the id is then taken (409)', async () => {
    const res = await admin('POST', '/admin/tenants', beta);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ id: 'beta', source: 'admin', messagingLimit: 2000, webhook: { url: 'http://127.0.0.1:9/hook' }, apiKeys: [] });
    expect(res.json.numbers).toEqual([{ phoneNumberId: NEW_NUMBER, mps: 20, burst: 5 }]);
    expect(res.text).not.toContain(WRONG_TOKEN);
    expect(res.text).not.toContain(SECRET);
    expect((await admin('POST', '/admin/tenants', beta)).status).toBe(409);
  });

  it('issues a key shown once (201); it sends through the new number at once', async () => {
    const issued = await admin('POST', '/admin/tenants/beta/api-keys');
    expect(issued.status).toBe(201);
    expect(issued.json).toEqual({ id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^sg_/) });
    betaKey = issued.json.key;
    betaKeyId = issued.json.id;
    const view = await admin('GET', '/admin/tenants/beta');
    expect(view.json.apiKeys.map((k: any) => k.id)).toEqual([betaKeyId]);
    expect(view.text).not.toContain(betaKey);

    // The tenant's number is its own: acme's key cannot use it, beta's cannot use acme's (404: another tenant's number is not disclosed).
    expect((await sendAs(API_KEY, NEW_NUMBER)).status).toBe(404);
    expect((await sendAs(betaKey, NUMBER)).status).toBe(404);
    const sent = await sendAs(betaKey, NEW_NUMBER);
    expect(sent.status).toBe(202);
    messageId = sent.json.messages[0].id;
  });

  it('a wrong token gets a 190 that pauses the tenant; a new token resumes it and the message leaves', async () => {
    await eventually(async () => ((stack.sim.stats().numbers[NEW_NUMBER]?.refused?.['190'] ?? 0) > 0 ? true : undefined));
    // Back in the queue once the answer is handled (the tenant paused, the message kept).
    await eventually(async () => ((await stateOf(betaKey, messageId)) === 'queued' ? true : undefined));
    expect(stack.gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === NEW_NUMBER)?.paused).toBe(true);
    const missing = await admin('PUT', '/admin/numbers/9999/access-token', { accessToken: NEW_TOKEN });
    expect(missing.status).toBe(404);
    const res = await admin('PUT', `/admin/numbers/${NEW_NUMBER}/access-token`, { accessToken: NEW_TOKEN });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ phone_number_id: NEW_NUMBER, tenant: 'beta', resumed: true });
    expect(res.text).not.toContain(NEW_TOKEN);
    await eventually(async () => (['sent', 'delivered', 'read'].includes(await stateOf(betaKey, messageId)) ? true : undefined));
    expect(stack.sim.stats().numbers[NEW_NUMBER]!.accepted).toBeGreaterThanOrEqual(1);
  });

  it('PATCH replaces the fields given; a number kept without its token keeps it', async () => {
    const res = await admin('PATCH', '/admin/tenants/beta', { messagingLimit: 10000, numbers: [{ phoneNumberId: NEW_NUMBER, mps: 10 }], webhook: null });
    expect(res.status).toBe(200);
    expect(res.json.messagingLimit).toBe(10000);
    expect(res.json.numbers).toEqual([{ phoneNumberId: NEW_NUMBER, mps: 10, burst: 5 }]);
    expect(res.json.webhook).toBeUndefined();
    // Still sends with the token set above.
    const sent = await sendAs(betaKey, NEW_NUMBER, '+16505550001');
    expect(sent.status).toBe(202);
    await eventually(async () => (['sent', 'delivered', 'read'].includes(await stateOf(betaKey, sent.json.messages[0].id)) ? true : undefined));

    const noToken = await admin('PATCH', '/admin/tenants/beta', { numbers: [{ phoneNumberId: NEW_NUMBER }, { phoneNumberId: '4004' }] });
    expect(noToken.status).toBe(400);
    expect(noToken.json.error.error_data.details).toMatch(/numbers\/1\/accessToken/);
    expect((await admin('PATCH', '/admin/tenants/beta', {})).status).toBe(400);
    expect((await admin('PATCH', '/admin/tenants/nobody', { deadlineSec: 60 })).status).toBe(404);
  });

  it('a revoked key is refused from then on; an unknown key id is a 404', async () => {
    const second = (await admin('POST', '/admin/tenants/beta/api-keys')).json;
    const res = await admin('DELETE', `/admin/tenants/beta/api-keys/${betaKeyId}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ id: betaKeyId, tenant: 'beta', revoked: true });
    expect((await sendAs(betaKey, NEW_NUMBER)).status).toBe(401);
    expect((await sendAs(second.key, NEW_NUMBER, '+16505550002')).status).toBe(202);
    expect((await admin('DELETE', `/admin/tenants/beta/api-keys/${betaKeyId}`)).status).toBe(404);
    expect((await admin('DELETE', '/admin/tenants/acme/api-keys/' + second.id)).status).toBe(404);
    betaKey = second.key;
  });

  it('revoking a config key refuses it too', async () => {
    const acme = (await admin('GET', '/admin/tenants/acme')).json;
    expect((await sendAs(API_KEY, NUMBER)).status).toBe(202);
    expect((await admin('DELETE', `/admin/tenants/acme/api-keys/${acme.apiKeys[0].id}`)).status).toBe(200);
    expect((await sendAs(API_KEY, NUMBER)).status).toBe(401);
  });

  it('deleting a tenant stops it: its keys are refused and its number is unknown', async () => {
    const res = await admin('DELETE', '/admin/tenants/beta');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ id: 'beta', deleted: true });
    expect((await admin('GET', '/admin/tenants/beta')).status).toBe(404);
    expect((await sendAs(betaKey, NEW_NUMBER)).status).toBe(401);
    expect((await admin('GET', '/admin/tenants')).json.data.map((t: any) => t.id)).toEqual(['acme', 'other']);
    expect((await admin('PUT', `/admin/numbers/${NEW_NUMBER}/access-token`, { accessToken: NEW_TOKEN })).status).toBe(404);
  });
});
