/**
 * Tenant webhooks in Meta's own format (`webhook.format: "meta"`), received by the webhook
 * handlers of real integrations, each given the tenant secret as its app secret:
 *   - whatsapp-api-js: `WhatsAppAPI.post(data, raw_body, signature)` (verifies, then calls `on.message`
 *     / `on.status` with what it read);
 *   - @great-detail/whatsapp: `webhook.eventNotification(request)` then `verifySignature(appSecret)`.
 * Through the whole gateway with the simulator as Meta: every delivery verifies; an inbound message
 * with non-ASCII text and emoji arrives intact (ASCII-escaped on the wire, as Meta sends it); the
 * statuses of a sent message arrive under the id the send answered, the wamid beside it; a reply's
 * `context.id` names the message as the client knows it; an expired message arrives as a `failed`
 * status with Meta's error shape; another tenant's items never arrive; and (for the handler that
 * takes any field) a change sendgate does not act on is relayed untouched.
 */
import Client from '@great-detail/whatsapp';
import { WhatsAppAPI } from 'whatsapp-api-js';
import { WhatsAppAPIFailedToVerifyError, WhatsAppAPIMissingSignatureError } from 'whatsapp-api-js/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeNonAscii, signMetaBody } from '../../src/webhooks/index.js';
import { APP_SECRET, metricValue, settleLane, startE2e, text, tpl, user, type E2eStack } from '../support/e2e-stack.js';
import { MetaTenantReceiver, SignatureRefused, type Handled, type MetaHandler } from '../support/meta-tenant-receiver.js';
import { eventually, NUMBER, OTHER_NUMBER } from '../support/stack.js';

const SECRET = 'tenant-meta-app-secret';
const WABA = '102290129340398';
/** Accents, CJK, a flag and a skin-toned emoji (surrogate pairs and a combining sequence). */
const WORDS = 'Olá, ação já! 日本語 🇧🇷 👋🏽 ✓';

/** whatsapp-api-js's handler, as its README sets it up behind Meta. */
function whatsappApiJs(): MetaHandler {
  const api = new WhatsAppAPI({ token: 'unused-token', appSecret: SECRET, v: 'v23.0' });
  const on = api.on as any;
  on.message = (args: any): Handled => [{ kind: 'message', phoneID: args.phoneID, from: args.from, name: args.name, message: args.message }];
  on.status = (args: any): Handled => [{
    kind: 'status', phoneID: args.phoneID, id: args.id, status: args.status, phone: args.phone, error: args.error,
    item: args.raw.entry[0].changes[0].value.statuses[0],
  }];
  return async (raw, headers) => {
    const signature = headers['x-hub-signature-256'];
    try {
      return ((await api.post(JSON.parse(raw), raw, typeof signature === 'string' ? signature : '')) as Handled | undefined) ?? [];
    } catch (err) {
      if (err instanceof WhatsAppAPIFailedToVerifyError || err instanceof WhatsAppAPIMissingSignatureError) throw new SignatureRefused(String(err));
      throw err;
    }
  };
}

/** @great-detail/whatsapp's helper: parse the notification, verify it with the app secret, read the items. */
function greatDetail(): MetaHandler {
  const sdk = new Client();
  return async (raw, headers) => {
    let notification: Awaited<ReturnType<typeof sdk.webhook.eventNotification>>;
    try {
      notification = await sdk.webhook.eventNotification({ method: 'POST', headers, body: raw } as any);
      await notification.verifySignature(SECRET);
    } catch (err) {
      if (err instanceof sdk.webhook.errors.InvalidHubSignatureWebhookError) throw new SignatureRefused(String(err));
      throw err;
    }
    const handled: Handled = [];
    for (const entry of (notification.eventNotification as any).entry) {
      for (const change of entry.changes) {
        const value = change.value;
        if (change.field !== 'messages') handled.push({ kind: 'change', wabaId: entry.id, field: change.field, value });
        for (const message of value.messages ?? []) handled.push({ kind: 'message', phoneID: value.metadata.phone_number_id, from: message.from, name: value.contacts?.[0]?.profile?.name, message });
        for (const status of value.statuses ?? []) {
          handled.push({ kind: 'status', phoneID: value.metadata.phone_number_id, id: status.id, status: status.status, phone: status.recipient_id, error: status.errors?.[0], item: status });
        }
        if (value.errors !== undefined) handled.push({ kind: 'errors', phoneID: value.metadata?.phone_number_id, errors: value.errors });
      }
    }
    return handled;
  };
}

const RECEIVERS: Array<[string, () => MetaHandler, { anyField: boolean }]> = [
  // whatsapp-api-js reads `value.metadata` of every change: fields without one (account updates) are not its kind.
  ['whatsapp-api-js post()', whatsappApiJs, { anyField: false }],
  ['@great-detail/whatsapp webhook helper', greatDetail, { anyField: true }],
];

describe.each(RECEIVERS)('tenant webhooks in Meta format, received by %s', (_name, makeHandler, { anyField }) => {
  let s: E2eStack;
  let receiver: MetaTenantReceiver;

  beforeAll(async () => {
    receiver = new MetaTenantReceiver(makeHandler());
    await receiver.start();
    s = await startE2e({
      tenant: { wabaIds: [WABA], webhook: { url: receiver.url, secret: SECRET, format: 'meta' } },
      // Meta's `sent` follows its answer by far more than a few ms; 100 ms here keeps that order for
      // the Prefer: wait case (the note of the wamid answer is written after the answer).
      sim: { webhook: { statuses: { sentMs: 100, deliveredMs: 160, readMs: 240, readRate: 1, skipDeliveredRate: 0 } } },
    });
    await settleLane(s, s.clock, NUMBER, 2000);
  });
  afterAll(async () => {
    // Every delivery of the whole run verified with the tenant secret, and none was refused or failed.
    expect(receiver.attempts.length).toBeGreaterThan(0);
    expect(receiver.attempts.filter((a) => !a.verified || a.answered !== 200).map((a) => a.error ?? a.answered)).toEqual([]);
    await s?.close();
    await receiver?.stop();
  });

  const statusesOf = (id: string) => receiver.items().filter((x) => x.kind === 'status' && x.id === id);

  it('delivers an inbound message with non-ASCII text and emoji intact, ASCII-escaped and signed as Meta does', async () => {
    const from = user(901);
    await s.inbound(from, WORDS);
    const got = await eventually(() => receiver.items().find((x) => x.kind === 'message' && x.message.text?.body === WORDS));
    expect(got).toMatchObject({ phoneID: NUMBER, from: from.slice(1), name: 'Simulated User', message: { type: 'text', text: { body: WORDS } } });
    const attempt = receiver.attempts.find((a) => a.rawBody.includes(got.message.id))!;
    expect(/^[\x00-\x7f]*$/.test(attempt.rawBody)).toBe(true);
    expect(attempt.rawBody).toContain('Ol\\u00e1');
    expect(attempt.headers['x-hub-signature-256']).toBe(signMetaBody(attempt.rawBody, SECRET));
    expect(attempt.headers['x-sendgate-signature']).toBeUndefined();
    expect(JSON.parse(attempt.rawBody)).toMatchObject({ object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages' }] }] });
  });

  it('delivers the statuses of a sent message under the id the send answered, with the wamid beside it', async () => {
    const to = user(902);
    const res = await s.send(tpl(to, 'order_update'), { 'x-sendgate-category': 'utility' });
    expect(res.status).toBe(202);
    const id = res.json.messages[0].id as string;
    expect(id).toMatch(/^sg_/);
    const view = await s.waitForState(id, ['read']);
    await eventually(() => (statusesOf(id).length >= 3 ? true : undefined));
    const statuses = statusesOf(id);
    // Relayed in the order Meta's webhooks reached the gateway (Meta does not promise theirs): compared as a set.
    expect(statuses.map((x) => x.status).sort()).toEqual(['delivered', 'read', 'sent']);
    for (const x of statuses) {
      expect(x).toMatchObject({ phoneID: NUMBER, phone: to.slice(1) });
      expect(x.item).toMatchObject({ id, gateway_id: id, wamid: view.wamid, recipient_id: to.slice(1) });
    }
    expect(view.wamid).toMatch(/^wamid\./);
    // Nothing arrives under the wamid: the client never saw it.
    expect(receiver.items().some((x) => x.kind === 'status' && x.id === view.wamid)).toBe(false);
    // The tenant webhook metrics count Meta-format deliveries as any other.
    await eventually(async () => {
      const delivered = metricValue(await s.metrics(), 'sendgate_tenant_webhook_events_total', { result: 'delivered' });
      return delivered === receiver.attempts.filter((a) => a.answered === 200).length ? true : undefined;
    });
  });

  it('keeps the wamid as the id of a send whose Prefer: wait answer carried it', async () => {
    const to = user(907);
    const res = await s.send(tpl(to, 'order_update'), { 'x-sendgate-category': 'utility', prefer: 'wait=5' });
    expect(res.status).toBe(200);
    const { id: wamid, gateway_id: id } = res.json.messages[0];
    expect(wamid).toMatch(/^wamid\./);
    await s.waitForState(id, ['read']);
    await eventually(() => (statusesOf(wamid).length >= 3 ? true : undefined));
    for (const x of statusesOf(wamid)) expect(x.item).toMatchObject({ id: wamid, gateway_id: id, wamid });
    expect(statusesOf(id)).toEqual([]);
  });

  it('rewrites a reply\'s context.id to the id the send answered; the wamid stays beside it', async () => {
    const to = user(903);
    await s.inbound(to, 'my order?'); // opens the service window: free-form text may follow
    const res = await s.send(text(to, 'on its way, how was it?'));
    expect(res.status).toBe(202);
    const id = res.json.messages[0].id as string;
    const { wamid } = await s.waitForState(id, ['sent', 'delivered', 'read']);
    const reply = {
      from: to.slice(1), id: 'wamid.reply-903', timestamp: String(Math.floor(s.clock.nowMs() / 1000)), type: 'text',
      text: { body: 'great 👍' }, context: { from: '15550001001', id: wamid },
    };
    expect(await postMeta(s, messagesChange(NUMBER, { contacts: [{ profile: { name: 'Ana' }, wa_id: to.slice(1) }], messages: [reply] }))).toBe(200);
    const got = await eventually(() => receiver.items().find((x) => x.kind === 'message' && x.message.id === 'wamid.reply-903'));
    expect(got.message.context).toEqual({ from: '15550001001', id, gateway_id: id, wamid });
    expect(got).toMatchObject({ name: 'Ana', message: { text: { body: 'great 👍' } } });
  });

  it('delivers a message that expired unsent as a failed status with an error in Meta\'s form', async () => {
    const to = user(904);
    // A synchronous 131049 holds the user 24 h, past the deadline: sendgate ends the message itself.
    s.sim.setFaults({ errorRates: { '131049': 1 } }, NUMBER);
    const res = await s.send(tpl(to, 'promo'), { 'x-sendgate-category': 'marketing' });
    expect(res.status).toBe(202);
    const id = res.json.messages[0].id as string;
    await s.waitForState(id, ['expired']);
    s.sim.setFaults(undefined, NUMBER);
    const failed = await eventually(() => statusesOf(id).find((x) => x.status === 'failed'));
    expect(failed).toMatchObject({ phoneID: NUMBER, phone: to.slice(1), error: { code: 900504, title: 'Message expired', message: 'Message expired' } });
    expect(failed.error.error_data.details).toMatch(/^Not sent before its deadline \(last answer: 131049 /);
    expect(failed.item).toMatchObject({ id, gateway_id: id, status: 'failed', recipient_id: to.slice(1) });
    expect(failed.item.wamid).toBeUndefined();
  });

  it('relays only this tenant\'s items: another tenant\'s number in the same delivery never arrives', async () => {
    const mine = { from: user(905).slice(1), id: 'wamid.mine-905', timestamp: '1750000000', type: 'text', text: { body: 'mine' } };
    const theirs = { from: user(906).slice(1), id: 'wamid.theirs-906', timestamp: '1750000000', type: 'text', text: { body: 'theirs' } };
    const body = {
      object: 'whatsapp_business_account',
      entry: [{ id: WABA, changes: [
        { field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550002002', phone_number_id: OTHER_NUMBER }, messages: [theirs] } },
        { field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001001', phone_number_id: NUMBER }, messages: [mine] } },
      ] }],
    };
    expect(await postMeta(s, body)).toBe(200);
    await eventually(() => receiver.items().find((x) => x.kind === 'message' && x.message.id === 'wamid.mine-905'));
    expect(receiver.attempts.some((a) => a.rawBody.includes('wamid.theirs-906'))).toBe(false);
  });

  it.runIf(anyField)('relays changes sendgate does not act on untouched: new fields and value-level errors', async () => {
    const template = { event: 'APPROVED', message_template_id: 594425479261596, message_template_name: 'promo', message_template_language: 'pt_BR', reason: 'NONE', future: { x: 'ü' } };
    const errors = [{ code: 131000, title: 'Something went wrong', message: 'Something went wrong', error_data: { details: 'tudo bem?' } }];
    const body = {
      object: 'whatsapp_business_account',
      entry: [{ id: WABA, changes: [{ field: 'message_template_status_update', value: template }, messagesChange(NUMBER, { errors }).entry[0]!.changes[0]!] }],
    };
    expect(await postMeta(s, body)).toBe(200);
    const change = await eventually(() => receiver.items().find((x) => x.kind === 'change' && x.field === 'message_template_status_update'));
    expect(change).toEqual({ kind: 'change', wabaId: WABA, field: 'message_template_status_update', value: template });
    const valueErrors = await eventually(() => receiver.items().find((x) => x.kind === 'errors'));
    expect(valueErrors).toEqual({ kind: 'errors', phoneID: NUMBER, errors });
  });
});

function messagesChange(phoneNumberId: string, parts: Record<string, unknown>) {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: WABA, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001001', phone_number_id: phoneNumberId }, ...parts } }] }],
  };
}

/** Posts a webhook to the gateway as Meta would: ASCII-escaped and signed with the app secret. */
function postMeta(s: E2eStack, body: object): Promise<number> {
  const raw = escapeNonAscii(JSON.stringify(body));
  return s.postMeta(raw, { 'x-hub-signature-256': signMetaBody(raw, APP_SECRET) });
}
