/**
 * Status webhooks from the simulator move message records through the gateway: sent → delivered
 * → read on GET /v1/messages/{id}; an asynchronous failure (131026) ends `failed` with the error,
 * and the recipient is then refused as undeliverable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';
import { NUMBER } from '../support/stack.js';

let s: E2eStack;
beforeAll(async () => {
  // Every message is read, never skipping delivered; read only when the test plays it.
  s = await startE2e({ sim: { webhook: { statuses: { sentMs: 5, deliveredMs: 30, readMs: 600_000, readRate: 1, skipDeliveredRate: 0 } } } });
});
afterAll(() => s?.close());

const utility = { 'x-sendgate-category': 'utility' };

describe('status webhooks', () => {
  it('sent → delivered → read are visible on the message', async () => {
    const res = await s.send(tpl(user(500)), utility);
    expect(res.status).toBe(202);
    const id = res.json.messages[0].id;
    const delivered = await s.waitForState(id, ['delivered']);
    expect(delivered.wamid).toMatch(/^wamid\./);
    expect(delivered.sent_at).not.toBeNull();
    expect(delivered.delivered_at).not.toBeNull();
    expect(delivered.read_at).toBeNull();

    await s.flushStatuses();
    const read = await s.waitForState(id, ['read'], 2000);
    expect(read.read_at).not.toBeNull();
    expect(read.last_error).toBeNull();
  });

  it('an asynchronous 131026 ends failed with the error, and the recipient is then refused', async () => {
    s.sim.setFaults({ asyncErrorRates: { '131026': 1 } }, NUMBER);
    const to = user(501);
    const res = await s.send(tpl(to), utility);
    expect(res.status).toBe(202);
    const failed = await s.waitForState(res.json.messages[0].id, ['failed']);
    expect(failed.wamid).toMatch(/^wamid\./);
    expect(failed.last_error.code).toBe(131026);
    s.sim.setFaults(undefined, NUMBER);

    const again = await s.send(tpl(to), utility);
    expect(again.status).toBe(422);
    expect(again.json.error.code).toBe(131026);
    expect(again.json.error.error_data.details).toMatch(/^policy undeliverable:/);
    // Others are unaffected.
    expect((await s.send(tpl(user(502)), utility)).status).toBe(202);
  });
});
