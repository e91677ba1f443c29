/**
 * An idempotent retry of a message that already ended unsent is told how it ended, in the Graph
 * error envelope, instead of a 202 "accepted" that would make the client wait for a send that will
 * never happen. Nothing is sent again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBER, eventually, startStack, textBody, type Stack } from '../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

async function stateOf(id: string, states: string[]): Promise<any> {
  return eventually(async () => {
    const view = (await stack.get(`/v1/messages/${id}`)).json;
    return states.includes(view.state) ? view : undefined;
  });
}

describe('idempotent retry of a message that ended unsent', () => {
  it('failed at the upstream: the upstream status and code (400, 131026), and the message id', async () => {
    stack.sim.setFaults({ errorRates: { '131026': 1 } }, NUMBER);
    try {
      const body = textBody('+16505557001', 'your parcel is on its way');
      const key = { 'idempotency-key': 'ended-failed-1' };
      const first = await stack.send(body, key);
      expect(first.status).toBe(202);
      const id = first.json.messages[0].id;
      await stateOf(id, ['failed']);
      const refusedBefore = stack.sim.stats().totals.refused;

      for (const headers of [key, { ...key, prefer: 'wait=5' }]) {
        const retry = await stack.send(body, headers);
        expect(retry.status).toBe(400);
        expect(retry.headers['x-sendgate-message-id']).toBe(id);
        expect(retry.json.error).toMatchObject({ code: 131026, type: 'OAuthException', error_data: { messaging_product: 'whatsapp' } });
        expect(retry.json.error.message).toMatch(/^\(#131026\) /);
        expect(retry.json.error.error_data.details).toContain(`Message ${id} ended failed`);
      }
      expect(stack.sim.stats().totals.refused).toBe(refusedBefore); // nothing sent again
    } finally {
      stack.sim.setFaults(undefined, NUMBER);
    }
  });

  it('expired before it could be sent: 504 with the answer that delayed it', async () => {
    stack.sim.setFaults({ errorRates: { '130429': 1 } }, NUMBER);
    try {
      const body = textBody('+16505557002', 'your code is 1234');
      const headers = { 'idempotency-key': 'ended-expired-1', 'x-sendgate-deadline': '2' };
      const first = await stack.send(body, headers);
      expect(first.status).toBe(202);
      const id = first.json.messages[0].id;
      await stateOf(id, ['expired']);

      const retry = await stack.send(body, headers);
      expect(retry.status).toBe(504);
      expect(retry.headers['x-sendgate-message-id']).toBe(id);
      expect(retry.json.error).toMatchObject({ code: 130429, error_data: { messaging_product: 'whatsapp' } });
      expect(retry.json.error.error_data.details).toContain(`Message ${id} ended expired`);
    } finally {
      stack.sim.setFaults(undefined, NUMBER);
    }
  });

  it('a retry of a message that was sent is still answered as the original (202)', async () => {
    const body = textBody('+16505557003', 'see you soon');
    const key = { 'idempotency-key': 'ended-sent-1' };
    const first = await stack.send(body, key);
    await stateOf(first.json.messages[0].id, ['sent', 'delivered', 'read']);
    const retry = await stack.send(body, key);
    expect(retry.status).toBe(202);
    expect(retry.json.messages[0]).toEqual({ id: first.json.messages[0].id, message_status: 'accepted' });
  });
});
