import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { post, text, TOKEN } from './helpers.js';

const TRACE = /^[A-Za-z0-9_-]{23}$/;

function expectEnvelope(json: any, code: number, title: string): void {
  expect(json).toEqual({
    error: {
      message: `(#${code}) ${title}`,
      type: 'OAuthException',
      code,
      error_data: { messaging_product: 'whatsapp', details: expect.any(String) },
      fbtrace_id: expect.stringMatching(TRACE),
    },
  });
}

describe('simulator: send surface and error envelopes', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }], limits: { pairIntervalMs: 0 } });
  });
  afterAll(() => sim.close());

  it('accepts a versioned send: contacts.input as sent, wa_id digits, wamid id', async () => {
    const r = await post(`${sim.url}/v23.0/1001/messages`, text('+1 (650) 555-1234'));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '+1 (650) 555-1234', wa_id: '16505551234' }],
      messages: [{ id: expect.stringMatching(/^wamid\.[A-Za-z0-9_-]+$/) }],
    });
  });

  it('accepts an unversioned send and gives distinct wamids', async () => {
    const a = await post(`${sim.url}/1001/messages`, text('16505550001'));
    const b = await post(`${sim.url}/1001/messages`, text('16505550001'));
    expect(a.status).toBe(200);
    expect(a.json.messages[0].id).not.toBe(b.json.messages[0].id);
  });

  it('adds message_status only for templates', async () => {
    const r = await post(`${sim.url}/v23.0/1001/messages`, {
      messaging_product: 'whatsapp', to: '16505550002', type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } },
    });
    expect(r.json.messages[0].message_status).toBe('accepted');
  });

  it('answers mark-as-read with success', async () => {
    const r = await post(`${sim.url}/v23.0/1001/messages`, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.X' });
    expect(r).toEqual({ status: 200, json: { success: true } });
  });

  it('190 / 401 for a wrong token and for no token', async () => {
    const wrong = await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'), 'nope');
    expect(wrong.status).toBe(401);
    expectEnvelope(wrong.json, 190, 'Invalid OAuth access token');
    const none = await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'), null);
    expect(none.status).toBe(401);
    expectEnvelope(none.json, 190, 'Invalid OAuth access token');
  });

  it('takes the auth scheme in any case', async () => {
    const res = await request(`${sim.url}/v23.0/1001/messages`, {
      method: 'POST', body: JSON.stringify(text('16505559876')),
      headers: { 'content-type': 'application/json', authorization: `bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it("unknown number → Graph's 100", async () => {
    const r = await post(`${sim.url}/v23.0/999/messages`, text('16505551234'));
    expect(r.status).toBe(400);
    expectEnvelope(r.json, 100, 'Invalid parameter');
    expect(r.json.error.error_data.details).toMatch(/Object with ID '999' does not exist/);
  });

  it('bad bodies are refused with the shared validator codes', async () => {
    const noBody = await post(`${sim.url}/v23.0/1001/messages`, { ...text('16505551234'), text: { body: '' } });
    expect(noBody.status).toBe(400);
    expectEnvelope(noBody.json, 131008, 'Required parameter is missing');
    const badType = await post(`${sim.url}/v23.0/1001/messages`, { ...text('16505551234'), type: 'Holo gram!' });
    expectEnvelope(badType.json, 131051, 'Unsupported message type');
    const badTo = await post(`${sim.url}/v23.0/1001/messages`, text('not-a-number'));
    expectEnvelope(badTo.json, 100, 'Invalid parameter');
  });

  it('prototype-pollution keys are refused with 100, not parsed into objects', async () => {
    const raw = '{"messaging_product":"whatsapp","to":"16505551234","type":"text","text":{"body":"x"},"__proto__":{"admin":true}}';
    const r = await post(`${sim.url}/v23.0/1001/messages`, null, TOKEN, raw);
    expect(r.status).toBe(400);
    expectEnvelope(r.json, 100, 'Invalid parameter');
    const r2 = await post(`${sim.url}/v23.0/1001/messages`, null, TOKEN, '{"constructor":{"prototype":{"x":1}},"messaging_product":"whatsapp"}');
    expectEnvelope(r2.json, 100, 'Invalid parameter');
  });

  it('malformed JSON, wrong content type, oversize body and unknown paths stay in the envelope', async () => {
    const bad = await post(`${sim.url}/v23.0/1001/messages`, null, TOKEN, '{"messaging_product":');
    expect(bad.status).toBe(400);
    expectEnvelope(bad.json, 100, 'Invalid parameter');
    const form = await post(`${sim.url}/v23.0/1001/messages`, null, TOKEN, 'to=1', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(400);
    expectEnvelope(form.json, 100, 'Invalid parameter');
    const big = await post(`${sim.url}/v23.0/1001/messages`, null, TOKEN, JSON.stringify(text('16505551234', 'x'.repeat(2 * 1024 * 1024))));
    expect(big.status).toBe(413);
    expectEnvelope(big.json, 100, 'Invalid parameter');
    const path = await post(`${sim.url}/v23.0/1001/nothing`, text('16505551234'));
    expect(path.status).toBe(400);
    expectEnvelope(path.json, 100, 'Invalid parameter');
    const version = await post(`${sim.url}/latest/1001/messages`, text('16505551234'));
    expectEnvelope(version.json, 100, 'Invalid parameter');
  });

  it('counts refusals by code in stats', async () => {
    const s = sim.stats().numbers['1001']!;
    expect(s.refused['190']).toBeGreaterThanOrEqual(2);
    expect(s.refused['131008']).toBeGreaterThanOrEqual(1);
    expect(s.accepted).toBeGreaterThanOrEqual(4);
    expect(s.markedRead).toBe(1);
  });
});

describe('simulator: acceptAnyNumber', () => {
  it('is off by default and, when on, takes any number with any token', async () => {
    const sim = await startSimulator({ acceptAnyNumber: true });
    try {
      const r = await post(`${sim.url}/v23.0/424242/messages`, text('16505551234'), 'anything');
      expect(r.status).toBe(200);
      expect(sim.stats().numbers['424242']!.accepted).toBe(1);
      const none = await post(`${sim.url}/v23.0/424242/messages`, text('16505551234'), null);
      expect(none.status).toBe(401);
    } finally {
      await sim.close();
    }
  });
});
