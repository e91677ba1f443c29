/**
 * Never stricter than Meta: every send example of Meta's own OpenAPI spec for the Cloud API
 * (`/{Version}/{Phone-Number-ID}/messages`, placeholders filled) goes through the gateway to the
 * simulator. The gateway accepts each one (202), the simulator accepts it when the gateway sends it
 * (the message ends `sent`, no refusal counted upstream), and the simulator accepts it directly too.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBER, startStack, TOKEN, type Stack } from '../support/stack.js';
import { sendExamples, type SpecExample } from '../cloud-api/spec-examples.js';

let stack: Stack;
let examples: SpecExample[];

beforeAll(async () => {
  // The simulator's number has the limits the gateway is told: the direct sends below spend its
  // bucket behind the gateway's back, and at the default 80 the gateway's sends right after were
  // refused 130429 on a slow machine.
  stack = await startStack({
    numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 1000, burst: 1000 }],
    sim: { numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 1000, burst: 1000 }] },
  });
  // One recipient per example: the pair rate (1 per 6 s) would otherwise pace them for minutes.
  examples = sendExamples().map((e, i) => ({ name: e.name, body: withRecipient(e.body, `+1650555${String(1000 + i)}`) }));
});
afterAll(() => stack?.close());

/** The spec's literal recipients (+16505551234, 16315555555) are replaced like its placeholders. */
function withRecipient(body: Record<string, unknown>, to: string): Record<string, unknown> {
  return body['to'] === undefined ? body : { ...body, to };
}

describe("Meta's OpenAPI send examples", () => {
  it('the spec holds the documented examples, mark-as-read among them', () => {
    // 50 at v23.0: 49 sends and the typing indicator / read receipt.
    expect(examples.length).toBeGreaterThanOrEqual(49);
    expect(examples.map((e) => e.name)).toContain('Send Order Details Message');
    expect(examples.map((e) => e.name)).toContain('Send Sample Issue Resolution Template');
    for (const e of examples) expect(JSON.stringify(e.body)).not.toMatch(/\{\{|http\(s\)/);
  });

  it('the simulator accepts every example directly', async () => {
    const refused: string[] = [];
    for (const e of examples) {
      const res = await request(`${stack.sim.url}/v23.0/${NUMBER}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(e.body),
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) refused.push(`${e.name}: ${res.statusCode} ${text}`);
    }
    expect(refused).toEqual([]);
  });

  it('the gateway accepts every example (202) and delivers each to the simulator, which accepts it', async () => {
    const before = stack.sim.stats().numbers[NUMBER]!;
    const refused: string[] = [];
    const ids: Array<[string, string]> = [];
    for (const e of examples) {
      const res = await stack.send(e.body);
      if (res.status !== 202) refused.push(`${e.name}: ${res.status} ${JSON.stringify(res.json)}`);
      else ids.push([e.name, res.json.messages[0].id as string]);
    }
    expect(refused).toEqual([]);

    const notSent: string[] = [];
    for (const [name, id] of ids) {
      const state = await waitForFinal(id);
      if (state.state !== 'sent') notSent.push(`${name}: ${JSON.stringify(state)}`);
    }
    expect(notSent).toEqual([]);
    const after = stack.sim.stats().numbers[NUMBER]!;
    expect(after.refused).toEqual(before.refused);
  });
});

async function waitForFinal(id: string): Promise<any> {
  const until = Date.now() + 15_000;
  for (;;) {
    const { json } = await stack.get(`/v1/messages/${id}`);
    if (json !== undefined && json.state !== 'queued' && json.state !== 'sending') return json;
    if (Date.now() > until) return json;
    await new Promise((r) => setTimeout(r, 20));
  }
}
