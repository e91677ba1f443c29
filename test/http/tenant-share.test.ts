/**
 * Per-tenant shares of the core's recipient tracking, through the real gateway and simulator:
 * tenant acme fills its share of the unique-recipient table (core.scopeShare of core.uniqueKeys)
 * and is refused with TENANT_SHARE_FULL; tenant other's sends are unaffected; /metrics shows the fill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OTHER_KEY, OTHER_NUMBER, startStack, templateBody, type Stack } from '../support/stack.js';

const UNIQUE_KEYS = 1024;
const SHARE = 0.05; // 51 recipients each: below the default messaging limit (250), so the share binds first
const PER_TENANT = Math.floor(UNIQUE_KEYS * SHARE);
const recipient = (i: number): string => `+1650555${String(i).padStart(4, '0')}`;

describe('per-tenant share of the core tables', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ gateway: { core: { uniqueKeys: UNIQUE_KEYS, scopeShare: SHARE } } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('refuses the tenant that holds its share, not the other one, and counts it in /metrics', async () => {
    for (let i = 0; i < PER_TENANT; i++) expect((await stack.send(templateBody(recipient(i)))).status).toBe(202);
    const over = await stack.send(templateBody(recipient(PER_TENANT)));
    expect(over.status).toBe(429);
    expect(over.json.error.code).toBe(900433);
    expect(over.json.error.error_data.details).toMatch(/^policy messagingLimit: this tenant tracks as many recipients as its share/);
    expect(over.headers['retry-after']).toBe('1');
    // A recipient acme already reached is still admitted (it holds no new slot).
    expect((await stack.send(templateBody(recipient(0)))).status).toBe(202);

    for (let i = 0; i < PER_TENANT; i++) {
      const sent = await stack.send(templateBody(recipient(i)), { authorization: `Bearer ${OTHER_KEY}` }, `/v23.0/${OTHER_NUMBER}/messages`);
      expect(sent.status).toBe(202);
    }

    const metrics = await (await request(`${stack.gateway.url}/metrics`)).body.text();
    expect(metrics).toContain('sendgate_core_share_full_total{table="uniqueMember"} 1');
    expect(metrics).toContain('sendgate_core_table_full_total{table="uniqueMember"} 0');
    expect(metrics).toContain(`sendgate_core_table_keys{table="uniqueMember"} ${2 * PER_TENANT}`);
  });
});
