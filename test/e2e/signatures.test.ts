/**
 * Meta webhook signatures at the gateway: a forged or unsigned POST answers 401 and changes
 * nothing (a forged inbound opens no window, a forged status moves no record); the same bytes
 * signed with the app secret do.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciiJson, hubSignature256 } from '../../src/sim/ascii-json.js';
import { buildPayload, type WebhookUpdate } from '../../src/sim/webhook-sender.js';
import { APP_SECRET, META_PATH, startE2e, text, user, VERIFY_TOKEN, type E2eStack } from '../support/e2e-stack.js';
import { NUMBER } from '../support/stack.js';

let s: E2eStack;
beforeAll(async () => {
  // No status webhooks from the simulator: a record moves only by what the test posts.
  s = await startE2e({ sim: { webhook: { statuses: { enabled: false } } } });
});
afterAll(() => s?.close());

const seconds = () => String(Math.floor(s.clock.nowMs() / 1000));
const update = (part: Pick<WebhookUpdate, 'status' | 'message'>): string =>
  asciiJson(buildPayload([{ wabaId: '100000000000001', phoneNumberId: NUMBER, displayPhoneNumber: NUMBER, ...part }]));
const inboundBody = (from: string, id: string) => update({
  message: { contact: { profile: { name: 'Mallory' }, wa_id: from }, message: { from, id, timestamp: seconds(), type: 'text', text: { body: 'hi' } } },
});

describe('Meta webhook signatures', () => {
  it('answers the verification handshake only with the verify token', async () => {
    const ok = await request(`${s.gateway.url}${META_PATH}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=12345`);
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.text()).toBe('12345');
    const bad = await request(`${s.gateway.url}${META_PATH}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=12345`);
    expect(bad.statusCode).toBe(403);
    await bad.body.dump();
  });

  it('a forged or unsigned inbound does not open the service window', async () => {
    const from = user(400).slice(1);
    const body = inboundBody(from, 'wamid.forged-in-1');
    expect(await s.postMeta(body, { 'x-hub-signature-256': hubSignature256(body, 'not-the-app-secret') })).toBe(401);
    expect(await s.postMeta(body, {})).toBe(401);
    expect(await s.postMeta(body, { 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) })).toBe(401);
    // Signed correctly, then one byte changed.
    const tampered = body.replace('Mallory', 'Mallorz');
    expect(await s.postMeta(tampered, { 'x-hub-signature-256': hubSignature256(body, APP_SECRET) })).toBe(401);
    expect((await s.send(text(`+${from}`, 'reply'))).status).toBe(422);

    // The very same bytes signed with the app secret open it.
    expect(await s.postMeta(body, { 'x-hub-signature-256': hubSignature256(body, APP_SECRET) })).toBe(200);
    expect((await s.send(text(`+${from}`, 'reply'))).status).toBe(202);
  });

  it('a forged status does not move a message record', async () => {
    const to = user(401);
    await s.inbound(to, 'hello');
    const sent = await s.send(text(to, 'hi there'));
    expect(sent.status).toBe(202);
    const record = await s.waitForState(sent.json.messages[0].id, ['sent']);
    const body = update({ status: { id: record.wamid, status: 'read', timestamp: seconds(), recipient_id: to.slice(1) } });

    expect(await s.postMeta(body, { 'x-hub-signature-256': hubSignature256(body, 'guessed') })).toBe(401);
    expect(await s.postMeta(body, {})).toBe(401);
    expect((await s.get(`/v1/messages/${record.id}`)).json.state).toBe('sent');

    expect(await s.postMeta(body, { 'x-hub-signature-256': hubSignature256(body, APP_SECRET) })).toBe(200);
    expect((await s.get(`/v1/messages/${record.id}`)).json.state).toBe('read');
  });
});
