/**
 * Queue caps: a number or a tenant holding its cap of waiting messages answers 429 QUEUE_FULL with
 * Retry-After, in the Graph envelope, and stores nothing; a retry of an accepted request is still
 * answered as the original.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBER, TOKEN, startStack, textBody, type Stack } from '../support/stack.js';

const SECOND = '1003';
const PER_NUMBER = 5;
const PER_TENANT = 8;

describe('queue caps', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      // 1 msg/s: posting is far faster, so the queues fill.
      numbers: [
        { phoneNumberId: NUMBER, accessToken: TOKEN, mps: 1, burst: 1 },
        { phoneNumberId: SECOND, accessToken: 'EAAG-second', mps: 1, burst: 1 },
      ],
      gateway: { limits: { maxQueuedPerNumber: PER_NUMBER, maxQueuedPerTenant: PER_TENANT } },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Recipients of the messages the store holds unsent (the refused one must not be among them). */
  async function waitingRecipients(): Promise<Set<string>> {
    return new Set((await stack.gateway.store.unfinished()).map((r) => r.to));
  }

  /** Posts to `number` until refused; returns the accepted ids and the refusal with its recipient. */
  async function fill(number: string, tag: string) {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const to = `1650555${tag}${String(i).padStart(3, '0')}`;
      const res = await stack.send(textBody(`+${to}`), {}, `/v23.0/${number}/messages`);
      if (res.status === 202) {
        ids.push(res.json.messages[0].id);
        continue;
      }
      return { ids, refusal: res, refusedTo: to };
    }
    throw new Error(`${number} was never refused`);
  }

  async function allStored(ids: string[]): Promise<boolean> {
    for (const id of ids) if ((await stack.gateway.store.get('acme', id)) === null) return false;
    return true;
  }

  it("refuses beyond the number's cap with 429 and Retry-After, storing nothing", async () => {
    const { ids, refusal, refusedTo } = await fill(NUMBER, '1');
    expect(ids.length).toBeGreaterThanOrEqual(PER_NUMBER);
    expect(refusal.status).toBe(429);
    expect(Number(refusal.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refusal.json.error).toMatchObject({ code: 900431, type: 'SendgateException', message: '(#900431) Queue full' });
    expect(refusal.json.error.error_data.details).toMatch(new RegExp(`Phone number id ${NUMBER} has \\d+ messages waiting \\(cap ${PER_NUMBER}\\)`));
    expect(await allStored(ids)).toBe(true);
    expect((await waitingRecipients()).has(refusedTo)).toBe(false);
  });

  it("refuses beyond the tenant's cap over all its numbers, and still answers a retry as the original", async () => {
    const keyed = await stack.send(textBody('+16505559999'), { 'idempotency-key': 'cap-retry' }, `/v23.0/${SECOND}/messages`);
    expect(keyed.status).toBe(202);
    const { ids, refusal, refusedTo } = await fill(SECOND, '2');
    expect(refusal.status).toBe(429);
    expect(Number(refusal.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refusal.json.error.code).toBe(900431);
    expect(refusal.json.error.error_data.details).toMatch(new RegExp(`Tenant acme has \\d+ messages waiting \\(cap ${PER_TENANT}\\)`));
    expect(await allStored(ids)).toBe(true);
    expect((await waitingRecipients()).has(refusedTo)).toBe(false);
    // A retry of the accepted request: the original, not a refusal, and nothing new stored.
    const waiting = (await stack.gateway.store.unfinished()).length;
    const again = await stack.send(textBody('+16505559999'), { 'idempotency-key': 'cap-retry' }, `/v23.0/${SECOND}/messages`);
    expect(again.status).toBe(202);
    expect(again.json.messages[0].id).toBe(keyed.json.messages[0].id);
    expect((await stack.gateway.store.unfinished()).length).toBeLessThanOrEqual(waiting);
  });
});
