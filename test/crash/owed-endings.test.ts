/**
 * A message's final state commits, and the process dies before its tenant event reaches the
 * webhook outbox. The store noted the debt in the same commit: the next boot pays it, and the
 * tenant hears of the ending exactly as it would have.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, freePort, spawnServer, tempJson, type Child } from '../../bench/macro/processes.js';
import { systemClock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { TenantReceiver } from '../support/tenant-receiver.js';
import { message } from '../store/conformance.js';

const SECRET = 'tenant-secret-owed-endings';
const dataDir = mkdtempSync(join(tmpdir(), 'sendgate-owed-'));
const receiver = new TenantReceiver(SECRET, () => Date.now() / 1000);
let sim: Simulator | undefined;
let gateway: Child | undefined;
afterAll(async () => {
  await gateway?.stop();
  await sim?.close();
  await receiver.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('tenant events of final states across a crash', () => {
  it('notes the debt with the final state and settles it when paid', async () => {
    const store = new EmbeddedStore({ path: mkdtempSync(join(tmpdir(), 'sendgate-owed-unit-')), clock: systemClock });
    try {
      const failed = message({ tenantId: 'acme' });
      const other = message({ tenantId: 'beta' });
      const sent = message({ tenantId: 'acme' });
      for (const m of [failed, other, sent]) await store.enqueue(m);
      await store.transition(failed.id, { state: 'failed', atMs: 1000, lastError: { code: 131000, title: 'x' } as never });
      await store.transition(other.id, { state: 'expired', atMs: 1000 });
      await store.transition(sent.id, { state: 'sending', attempts: 1, atMs: 1000 });
      await store.transition(sent.id, { state: 'sent', wamid: 'wamid.1', atMs: 1001 });
      // A refused change (final stays final) owes nothing new.
      expect(await store.transition(failed.id, { state: 'expired', atMs: 1002 })).toBe(false);

      expect(await store.owedEndings('acme', 2000, 10)).toEqual([failed.id]);
      expect(await store.owedEndings('beta', 2000, 10)).toEqual([other.id]);
      expect(await store.owedEndings('acme', 1000, 10)).toEqual([]); // owed since 1000, not before
      await store.endingSettled(failed.id);
      expect(await store.owedEndings('acme', 2000, 10)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('pays at boot what a crash left owed: the tenant hears the message expired', async () => {
    // The state a kill -9 leaves between the final commit and the outbox write.
    const expired = message({ tenantId: 'acme', phoneNumberId: '4201', to: '15550004201' });
    const store = new EmbeddedStore({ path: dataDir, clock: systemClock });
    await store.enqueue(expired);
    await store.transition(expired.id, { state: 'expired', atMs: Date.now() });
    await store.close();

    await receiver.start();
    sim = await startSimulator({ numbers: [{ phoneNumberId: '4201', accessToken: 'EAAG-4201' }] });
    const port = await freePort();
    const config = tempJson('gateway.json', {
      listen: { host: '127.0.0.1', port },
      storage: { kind: 'embedded', path: dataDir },
      upstream: { baseUrl: sim.url, version: 'v23.0' },
      log: { level: 'warn' },
      tenants: [{
        id: 'acme', apiKeys: ['key-owed-endings-1'], webhook: { url: receiver.url, secret: SECRET },
        numbers: [{ phoneNumberId: '4201', accessToken: 'EAAG-4201', mps: 20, burst: 5 }],
      }],
    });
    gateway = await spawnServer([CLI, 'serve', '--config', config], `http://127.0.0.1:${port}`, '/readyz');
    await until('the owed event at the tenant', () => receiver.delivered().length >= 1);
    const [event] = receiver.delivered();
    expect(event!.signatureValid).toBe(true);
    expect(event!.eventId).toBe(`evt_final_${expired.id}`);
    expect(event!.event).toMatchObject({ type: 'message.status', id: expired.id, status: 'expired', recipient: '15550004201' });

    // Paid once: a second restart has nothing left to pay.
    await gateway.stop();
    gateway = await spawnServer([CLI, 'serve', '--config', config], `http://127.0.0.1:${port}`, '/readyz');
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.delivered()).toHaveLength(1);
  }, 40_000);
});
