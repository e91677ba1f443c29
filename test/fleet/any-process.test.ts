/**
 * Two gateway processes on one Redis: any process serves any request. The tenant's messaging
 * limit is one budget across processes and numbers (exactly 250 of 300 new recipients); the same
 * Idempotency-Key on both is one message, sent once; `Prefer: wait` and the status API answer for
 * a message whichever process sends it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { messageState, sendBody, startFleet, until, type Fleet } from '../support/fleet.js';

const NUMBERS = ['5301', '5302'];

let fleet: Fleet | undefined;
afterAll(async () => {
  await fleet?.stop();
});

const template = (to: string) => ({
  messaging_product: 'whatsapp', to, type: 'template',
  template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'A-42' }] }] },
});

describe('any process serves any request', () => {
  it('shares the messaging limit, idempotency keys, outcomes and statuses', async () => {
    fleet = await startFleet({ gateways: 2, numbers: NUMBERS, mps: 80, burst: 20, pairIntervalMs: 1000, leaseTtlMs: 3000, messagingLimit: 250 });
    const f = fleet;
    const [a, b] = f.gateways as [typeof f.gateways[0], typeof f.gateways[0]];

    // 300 new recipients, alternately through both processes and both numbers, all at once.
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) =>
      sendBody((i % 2 === 0 ? a : b).url, NUMBERS[Math.floor(i / 2) % 2]!, template(`+1555300${String(i).padStart(4, '0')}`))));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(250);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    const refusal = answers.find((r) => r.status === 429)!;
    expect((refusal.body.error as { code: number }).code).toBe(900430);

    // The same Idempotency-Key on both processes at once: one message, one send.
    const to = '+15553000000'; // counted already: no new tier slot
    const headers = { 'idempotency-key': 'fleet-idem-1' };
    const [first, second] = await Promise.all([sendBody(a.url, NUMBERS[0]!, template(to), headers), sendBody(b.url, NUMBERS[0]!, template(to), headers)]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.id).toBe(first.id);

    await until('all admitted sends delivered', async () => (await f.upstream.stats()).totals.accepted >= 251, 30_000);
    const pairs = await (await fetch(`${f.upstream.simUrl}/__sim/stats`)).json() as { pairs: Record<string, Record<string, { accepted: number }>> };
    // The recipient got the template once from the 300 and once for the idempotent pair: two, not three.
    expect(pairs.pairs[NUMBERS[0]!]!['15553000000']!.accepted).toBe(2);

    // Prefer: wait through each process, on each number: the wamid, whoever sent it.
    for (const g of [a, b]) {
      for (const n of NUMBERS) {
        const waited = await sendBody(g.url, n, template('+15553000001'), { prefer: 'wait=10' });
        expect(waited.status).toBe(200);
        expect(waited.id).toMatch(/^wamid\./);
        const gatewayId = String(waited.headers['x-sendgate-message-id']);
        // The status of a message, asked of the other process.
        expect(await messageState((g === a ? b : a).url, gatewayId)).toBe('sent');
      }
    }
  }, 120_000);
});
