/**
 * Policy test harness: a real WASM core, a real policy store in a temp dir, a ManualClock, and a
 * config built through the real loader (so schema defaults apply as in production).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { loadCore } from '../../src/core/index.js';
import type { AdmitInput } from '../../src/gateway/ports.js';
import { createPolicyEngine, openPolicyStore, POLICY_DB_FILE, type PolicyCore, type PolicyEngine } from '../../src/policy/index.js';

export const TENANT = 'acme';
export const NUMBER = '1001';
export const NUMBER2 = '1002';
export const API_KEY = 'key-acme-policy-1';
export const T0 = Date.parse('2026-03-02T10:00:00Z');

export interface HarnessOptions {
  policy?: Record<string, unknown>;
  tenant?: Record<string, unknown>;
  numbers?: Array<Record<string, unknown>>;
  webhooks?: boolean;
  /** Reuse a data dir (restart tests). */
  dir?: string;
  clock?: ManualClock;
  limits?: { windowEntries?: number; deferralEntries?: number };
}

export interface Harness {
  engine: PolicyEngine;
  core: PolicyCore;
  clock: ManualClock;
  config: Readonly<Config>;
  dir: string;
  admit(overrides: Partial<AdmitInput> & { body: Record<string, unknown> }): ReturnType<PolicyEngine['admit']>;
  inbound(from: string, text?: string, phoneNumberId?: string): void;
}

export function testConfig(options: HarnessOptions = {}): Readonly<Config> {
  return parseConfig({
    storage: { kind: 'embedded', path: options.dir ?? '/nonexistent' },
    ...(options.webhooks === false ? {} : { webhooks: { appSecret: 'app-secret', verifyToken: 'verify-token' } }),
    core: { gcraKeys: 4096, windowKeys: 4096, uniqueKeys: 8192, repeatKeys: 8192 },
    tenants: [
      {
        id: TENANT, apiKeys: [API_KEY], policy: options.policy ?? {},
        numbers: options.numbers ?? [{ phoneNumberId: NUMBER, accessToken: 'EAAG-1' }, { phoneNumberId: NUMBER2, accessToken: 'EAAG-2' }],
        ...options.tenant,
      },
      { id: 'other', apiKeys: ['key-other-policy'], numbers: [{ phoneNumberId: '2002', accessToken: 'EAAG-3' }] },
    ],
  });
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sendgate-policy-'));
  const config = testConfig({ ...options, dir });
  const clock = options.clock ?? new ManualClock(T0);
  const core = await loadCore(config.core);
  const engine = createPolicyEngine({ config, core, clock, store: openPolicyStore(join(dir, POLICY_DB_FILE)), limits: options.limits });
  return {
    engine, core, clock, config, dir,
    admit: (o) => engine.admit({
      tenantId: TENANT, phoneNumberId: NUMBER, to: '15550000001',
      category: o.body['type'] === 'template' ? 'unknown' : 'service', nowMs: clock.nowMs(), ...o,
    }),
    inbound: (from, text, phoneNumberId = NUMBER) => engine.onInbound({ phoneNumberId, from, text, timestampMs: clock.nowMs() }),
  };
}

export const text = (body: string): Record<string, unknown> =>
  ({ messaging_product: 'whatsapp', to: 'x', type: 'text', text: { body } });

export const template = (name = 'promo', params: string[] = [], extra: Record<string, unknown>[] = []): Record<string, unknown> => ({
  messaging_product: 'whatsapp', to: 'x', type: 'template',
  template: {
    name, language: { code: 'en_US' },
    components: [...(params.length > 0 ? [{ type: 'body', parameters: params.map((p) => ({ type: 'text', text: p })) }] : []), ...extra],
  },
});

export const recipient = (i: number): string => String(15550100000 + i);

/** Runs fn and returns the GatewayError it throws (fails the test if it does not throw one). */
export function refusalOf(fn: () => unknown): { code: string; details: string; retryAfterSec: number | undefined; status: number } {
  try {
    fn();
  } catch (err) {
    const e = err as { code: string; details: string; retryAfterSec: number | undefined; spec: { status: number } };
    if (typeof e.code !== 'string' || e.spec === undefined) throw err;
    return { code: e.code, details: e.details, retryAfterSec: e.retryAfterSec, status: e.spec.status };
  }
  throw new Error('expected a policy refusal, but the send was admitted');
}
