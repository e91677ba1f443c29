/**
 * Meta's account signals, in Meta's own payload shapes (meta-signal-fixtures.ts), signed and posted
 * to a running gateway, change what it does, and what they changed survives a real restart (the
 * gateway closed and started again on the same storage):
 *   - business_capability_update raises the tenant's messaging limit (WABA id → tenants[].wabaIds);
 *   - phone_number_quality_update THROUGHPUT_UPGRADE raises the number's mps; FLAGGED flags it
 *     (by a configured display number, or one learned from a message webhook's metadata);
 *   - account_update restrictions pause the tenant;
 *   - user_preferences stop / resume record consent;
 *   - a signal no tenant owns is counted as unmapped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startGateway, type GatewayHandle } from '../../src/server.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { parseMetaWebhook, signMetaBody } from '../../src/webhooks/index.js';
import { metricValue, tpl, user } from '../support/e2e-stack.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { API_KEY, baseGatewayConfig, NUMBER, OTHER_KEY, OTHER_NUMBER, TOKEN } from '../support/stack.js';
import {
  accountRestriction, accountViolation, capabilityUpdate, inboundWithDisplay, META_DISPLAY_NUMBER, META_WABA_ID, qualityUpdate, userPreference,
} from '../webhooks/meta-signal-fixtures.js';

const APP_SECRET = 'signals-app-secret';
const OTHER_WABA = '998877665544';
/** What the parser makes of a payload for sendgate itself (a Meta-format tenant also gets each change relayed as is: `passthrough`). */
const signalsOf = (payload: unknown) => parseMetaWebhook(payload).filter((e) => e.kind !== 'passthrough');

describe('fixtures are what Meta documents, read by the parser', () => {
  it('capability: the portfolio field, the older per-phone field, -1 as unlimited', () => {
    expect(signalsOf(capabilityUpdate({ perBusiness: 2000 }))).toMatchObject([{ kind: 'capability', wabaId: META_WABA_ID, maxDailyConversationsPerBusiness: 2000 }]);
    expect(signalsOf(capabilityUpdate({ perPhone: -1 }))).toMatchObject([{ kind: 'capability', maxDailyConversationsPerBusiness: 'unlimited' }]);
  });
  it('quality, account_update and user_preferences', () => {
    expect(signalsOf(qualityUpdate({ event: 'THROUGHPUT_UPGRADE', currentLimit: 'TIER_UNLIMITED' })))
      .toMatchObject([{ kind: 'quality', displayPhoneNumber: META_DISPLAY_NUMBER, event: 'THROUGHPUT_UPGRADE', currentLimit: 'unlimited' }]);
    expect(signalsOf(accountRestriction([{ type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration: '2026-04-19T13:59:20+0000' }])))
      .toMatchObject([{ kind: 'account', event: 'ACCOUNT_RESTRICTION', restrictions: [{ type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiresAtMs: Date.UTC(2026, 3, 19, 13, 59, 20) }] }]);
    expect(signalsOf(userPreference({ phoneNumberId: NUMBER, waId: '16505551234', value: 'stop' })))
      .toMatchObject([{ kind: 'preference', phoneNumberId: NUMBER, waId: '16505551234', category: 'marketing_messages', value: 'stop' }]);
  });
});


/** The same signals on each storage backend: what they set is durable in both. */
function suite(kind: 'embedded' | 'redis'): void {
  let sim: Simulator;
  let gateway: GatewayHandle;
  let config: Readonly<Config>;
  let dataDir: string;
  let redis: RedisServer | undefined;

  beforeAll(async () => {
    sim = await startSimulator({
      limits: { mps: 10_000, burst: 10_000, pairIntervalMs: 0 },
      numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN }, { phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token' }],
    });
    dataDir = mkdtempSync(join(tmpdir(), 'sendgate-signals-'));
    const base = baseGatewayConfig(sim.url, dataDir, []);
    if (kind === 'redis') redis = await startRedis();
    config = parseConfig({
      ...base,
      ...(redis !== undefined ? { storage: { kind: 'redis', url: redis.url, prefix: `signals-${randomBytes(4).toString('hex')}` } } : {}),
      webhooks: { appSecret: APP_SECRET, verifyToken: 'verify' },
      tenants: [
        {
          id: 'acme', apiKeys: [API_KEY], messagingLimit: 250, wabaIds: [META_WABA_ID], policy: { optIn: 'off', serviceWindow: 'off' },
          numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 80, burst: 80, displayPhoneNumber: META_DISPLAY_NUMBER }],
        },
        { id: 'other', apiKeys: [OTHER_KEY], wabaIds: [OTHER_WABA], numbers: [{ phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token', mps: 80, burst: 80 }] },
      ],
    }, 'signals test');
    gateway = await startGateway(config, { defaultMetrics: false });
  });
  afterAll(async () => {
    await gateway?.close();
    await sim?.close();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function restart(): Promise<void> {
    await gateway.close();
    gateway = await startGateway(config, { defaultMetrics: false });
  }

  async function postMeta(payload: object): Promise<number> {
    const body = JSON.stringify(payload);
    const res = await request(`${gateway.url}/webhooks/whatsapp`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, APP_SECRET) }, body,
    });
    await res.body.dump();
    return res.statusCode;
  }

  async function send(body: object, key = API_KEY, number = NUMBER): Promise<{ status: number; json: any }> {
    const res = await request(`${gateway.url}/v23.0/${number}/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-sendgate-category': 'marketing' }, body: JSON.stringify(body),
    });
    return { status: res.statusCode, json: await res.body.json() };
  }

  async function metrics(): Promise<string> {
    const res = await request(`${gateway.url}/metrics`);
    return res.body.text();
  }

  const lane = (id: string) => gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === id);

  describe(`account signals through a running gateway (${kind} storage)`, () => {
    it('business_capability_update raises the messaging limit, and the raised limit survives a restart', async () => {
      for (let b = 0; b < 250; b += 25) {
        const batch = [];
        for (let i = b; i < b + 25; i++) batch.push(send(tpl(user(i))));
        for (const res of await Promise.all(batch)) expect(res.status).toBe(202);
      }
      const over = await send(tpl(user(250)));
      expect(over.status).toBe(429);
      expect(over.json.error.error_data.details).toMatch(/messagingLimit/);

      expect(await postMeta(capabilityUpdate({ perBusiness: 2000, perPhone: 2000 }))).toBe(200);
      expect((await send(tpl(user(250)))).status).toBe(202);
      expect(metricValue(await metrics(), 'sendgate_meta_signals_total', { field: 'business_capability_update', outcome: 'applied' })).toBe(1);

      await restart();
      // 251 recipients are charged in the moving 24 h: under the configured 250 this would be refused.
      expect((await send(tpl(user(251)))).status).toBe(202);
    });

    it('phone_number_quality_update: THROUGHPUT_UPGRADE raises the mps, FLAGGED flags the number; both survive a restart', async () => {
      expect(lane(NUMBER)?.configuredMps).toBe(80);
      expect(await postMeta(qualityUpdate({ event: 'THROUGHPUT_UPGRADE', currentLimit: 'TIER_UNLIMITED', maxDaily: 'TIER_UNLIMITED' }))).toBe(200);
      expect(lane(NUMBER)?.configuredMps).toBe(1000);
      expect(await postMeta(qualityUpdate({ event: 'FLAGGED' }))).toBe(200);
      expect(metricValue(await metrics(), 'sendgate_number_quality_flagged', { phone_number_id: NUMBER })).toBe(1);

      await restart();
      expect(metricValue(await metrics(), 'sendgate_number_quality_flagged', { phone_number_id: NUMBER })).toBe(1);
      expect((await send(tpl(user(252)))).status).toBe(202); // the lane exists again
      expect(lane(NUMBER)?.configuredMps).toBe(1000);
      expect(await postMeta(qualityUpdate({ event: 'UNFLAGGED' }))).toBe(200);
      expect(metricValue(await metrics(), 'sendgate_number_quality_flagged', { phone_number_id: NUMBER })).toBe(0);
    });

    it('a display number learned from a message webhook maps a later quality signal to its number, also after a restart', async () => {
      const display = '15550009999';
      expect(await postMeta(qualityUpdate({ event: 'FLAGGED', display, wabaId: '1' }))).toBe(200);
      const m = await metrics();
      expect(metricValue(m, 'sendgate_meta_signals_total', { field: 'phone_number_quality_update', outcome: 'unmapped' })).toBe(1);
      expect(metricValue(m, 'sendgate_number_quality_flagged', { phone_number_id: OTHER_NUMBER })).toBe(0);

      expect(await postMeta(inboundWithDisplay(OTHER_NUMBER, display, 'wamid.learn-display-1'))).toBe(200);
      await restart();
      expect(await postMeta(qualityUpdate({ event: 'FLAGGED', display, wabaId: '1' }))).toBe(200);
      expect(metricValue(await metrics(), 'sendgate_number_quality_flagged', { phone_number_id: OTHER_NUMBER })).toBe(1);
    });

    it('account_update: a messaging restriction pauses the tenant (durably); a violation alone does not', async () => {
      expect(await postMeta(accountViolation(OTHER_WABA))).toBe(200);
      expect(metricValue(await metrics(), 'sendgate_meta_signals_total', { field: 'account_update', outcome: 'ignored' })).toBe(1);
      const before = await send(tpl(user(300)), OTHER_KEY, OTHER_NUMBER);
      expect(before.status).toBe(202);
      expect(lane(OTHER_NUMBER)?.paused).toBe(false);

      // Expiring far ahead: an expired restriction resumes the tenant (test/gateway/account-signals.test.ts).
      expect(await postMeta(accountRestriction([
        { type: 'RESTRICTED_ADD_PHONE_NUMBER_ACTION', expiration: '2099-04-19T13:59:20+0000' },
        { type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration: '2099-04-19T13:59:20+0000' },
      ], OTHER_WABA))).toBe(200);
      expect(lane(OTHER_NUMBER)?.paused).toBe(true);
      await restart();
      await send(tpl(user(301)), OTHER_KEY, OTHER_NUMBER);
      expect(lane(OTHER_NUMBER)?.paused).toBe(true);

      // The restriction lifted (ACCOUNT_RESTRICTION without a messaging restriction): the pause Meta caused ends.
      expect(await postMeta(accountRestriction([], OTHER_WABA))).toBe(200);
      expect(lane(OTHER_NUMBER)?.paused).toBe(false);
    });

    it('user_preferences: stop records an opt-out, resume an opt-in', async () => {
      const consent = async (recipient: string) => {
        const res = await request(`${gateway.url}/v1/consent/${recipient}`, { headers: { authorization: `Bearer ${API_KEY}` } });
        return res.body.json() as Promise<any>;
      };
      expect(await postMeta(userPreference({ phoneNumberId: NUMBER, waId: '16505557777', value: 'stop' }))).toBe(200);
      expect(await consent('16505557777')).toMatchObject({ status: 'opt_out', source: 'meta-user-preferences' });
      const refused = await send(tpl('+16505557777'));
      expect(refused.status).toBe(422);
      expect(await postMeta(userPreference({ phoneNumberId: NUMBER, waId: '16505557777', value: 'resume' }))).toBe(200);
      expect(await consent('16505557777')).toMatchObject({ status: 'opt_in', source: 'meta-user-preferences' });
    });

    it('a signal no tenant owns is counted and answered 200 (Meta must not retry it for days)', async () => {
      expect(await postMeta(capabilityUpdate({ perBusiness: 10000, wabaId: '111111' }))).toBe(200);
      expect(metricValue(await metrics(), 'sendgate_meta_signals_total', { field: 'business_capability_update', outcome: 'unmapped' })).toBe(1);
      // A field sendgate does not act on (account_alerts) is counted too.
      const alert = { entry: [{ id: META_WABA_ID, time: 1739321024, changes: [{ field: 'account_alerts', value: { entity_type: 'WABA', entity_id: META_WABA_ID, alert_severity: 'WARNING', alert_status: 'ACTIVE', alert_type: 'INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED', alert_description: 'Deferred' } }] }], object: 'whatsapp_business_account' };
      expect(await postMeta(alert)).toBe(200);
      expect(metricValue(await metrics(), 'sendgate_meta_webhook_ignored_total', { reason: 'field:account_alerts' })).toBe(1);
    });
  });
}

describe.each(['embedded', 'redis'] as const)('%s storage', (kind) => suite(kind));
