/**
 * A consent record dated in the future (a client clock ahead of the gateway's) counts as recorded
 * now: it cannot outrank a STOP the user sends a moment later.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPolicyStore, POLICY_DB_FILE } from '../../src/policy/index.js';
import { startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';

describe('consent dated in the future', () => {
  let s: E2eStack;
  beforeAll(async () => {
    s = await startE2e();
  });
  afterAll(() => s?.close());

  it('an opt-in dated minutes ahead is clamped to now: a STOP right after it still suppresses marketing', async () => {
    const to = user(40);
    const nowMs = s.clock.nowMs();
    const recorded = await s.consent({ recipient: to, status: 'opt_in', source: 'crm', at: new Date(nowMs + 4 * 60_000).toISOString() });
    expect(recorded.status).toBe(200);
    expect(Date.parse(recorded.json.at)).toBeLessThanOrEqual(nowMs);

    s.clock.advance(1000);
    await s.inbound(to, 'STOP');
    const marketing = await s.send(tpl(to), { 'x-sendgate-category': 'marketing' });
    expect(marketing.status).toBe(422);
    expect(marketing.json.error.code).toBe(131050);
    const consent = await s.get(`/v1/consent/${encodeURIComponent(to)}`);
    expect(consent.json).toMatchObject({ status: 'opt_out', source: 'inbound' });
  });

  it('still refuses a date far in the future with a clear 400', async () => {
    const res = await s.consent({ recipient: user(41), status: 'opt_in', at: new Date(s.clock.nowMs() + 86_400_000).toISOString() });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(100);
    expect(res.json.error.error_data.details).toMatch(/at is in the future/);
  });
});

describe('a future-dated record already in the store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-consent-future-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('does not outrank a later STOP', () => {
    const nowMs = Date.parse('2026-03-02T10:00:00Z');
    const file = join(dir, POLICY_DB_FILE);
    const store = openPolicyStore(file);
    store.putConsent([{ tenantId: 't', recipient: '15550000042', status: 'opt_in', source: 'crm', atMs: nowMs - 60_000 }], nowMs - 60_000);
    // As written before `at` was clamped: an opt-in dated an hour ahead.
    const raw = new Database(file);
    raw.prepare('UPDATE consent SET at_ms = ? WHERE recipient = ?').run(nowMs + 3_600_000, '15550000042');
    raw.close();

    const applied = store.putConsent([{ tenantId: 't', recipient: '15550000042', status: 'opt_out', source: 'inbound', atMs: nowMs }], nowMs);
    expect(applied).toBe(1);
    expect(store.getConsent('t', '15550000042')).toMatchObject({ status: 'opt_out', atMs: nowMs });
    // An older record (an import) still does not undo it.
    expect(store.putConsent([{ tenantId: 't', recipient: '15550000042', status: 'opt_in', source: 'import', atMs: nowMs - 1000 }], nowMs)).toBe(0);
    store.close();
  });
});
