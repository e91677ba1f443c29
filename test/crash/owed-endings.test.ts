/**
 * A message's final state commits, and the process dies before its tenant event reaches the
 * webhook outbox. The store noted the debt in the same commit: the next boot pays it, and the
 * tenant hears of the ending exactly as it would have. (The store's side, both backends: the
 * conformance suite, "owed endings".)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type Child } from '../../bench/macro/processes.js';
import { startCrashGateway } from '../support/crash-gateway.js';
import { systemClock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { until } from '../support/until.js';
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

describe('tenant events of final states across a crash', () => {
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
    const options = {
      port, dataDir, simUrl: sim.url,
      tenants: [{
        id: 'acme', apiKeys: ['key-owed-endings-1'], webhook: { url: receiver.url, secret: SECRET },
        numbers: [{ phoneNumberId: '4201', accessToken: 'EAAG-4201', mps: 20, burst: 5 }],
      }],
    };
    gateway = await startCrashGateway(options);
    await until('the owed event at the tenant', () => receiver.delivered().length >= 1, 15_000);
    const [event] = receiver.delivered();
    expect(event!.signatureValid).toBe(true);
    expect(event!.eventId).toBe(`evt_final_${expired.id}`);
    expect(event!.event).toMatchObject({ type: 'message.status', id: expired.id, status: 'expired', recipient: '15550004201' });

    // Paid once: a second restart has nothing left to pay.
    await gateway.stop();
    gateway = await startCrashGateway(options);
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.delivered()).toHaveLength(1);
  }, 40_000);
});
