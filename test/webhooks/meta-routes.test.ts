import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { DeliveryDedupe } from '../../src/webhooks/meta/dedupe.js';
import type { MetaEvent } from '../../src/webhooks/meta/events.js';
import { createMetaWebhookCounters, metaWebhookRoutes, type MetaWebhookOptions } from '../../src/webhooks/meta/routes.js';
import { SqliteSeenMarks } from '../../src/webhooks/meta/seen-marks.js';
import { escapeNonAscii, signMetaBody } from '../../src/webhooks/meta/signature.js';
import { inboundPayload, statusPayload } from './fixtures.js';

const APP_SECRET = 'app-secret-for-tests';
const VERIFY_TOKEN = 'verify-me-please';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function build(overrides: Partial<MetaWebhookOptions> = {}) {
  const received: MetaEvent[][] = [];
  const counters = createMetaWebhookCounters();
  const app = Fastify();
  apps.push(app);
  await app.register(metaWebhookRoutes, {
    appSecret: APP_SECRET,
    verifyToken: VERIFY_TOKEN,
    counters,
    onEvents: async (events) => {
      received.push(events);
    },
    ...overrides,
  });
  return { app, received, counters };
}

function post(app: FastifyInstance, body: string | Buffer, signature?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['x-hub-signature-256'] = signature;
  return app.inject({ method: 'POST', url: '/webhooks/whatsapp', headers, payload: body });
}

describe('verification handshake', () => {
  it('echoes the raw challenge for the right token', async () => {
    const { app } = await build();
    const res = await app.inject({ url: '/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe('1158201444');
  });

  it('refuses a wrong token, a wrong mode and a missing challenge with 403', async () => {
    const { app } = await build();
    for (const q of [
      'hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1',
      'hub.mode=unsubscribe&hub.verify_token=verify-me-please&hub.challenge=1',
      'hub.mode=subscribe&hub.verify_token=verify-me-please',
      `hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=${'1'.repeat(300)}`,
      '',
    ]) {
      const res = await app.inject({ url: `/webhooks/whatsapp?${q}` });
      expect(res.statusCode, q).toBe(403);
      expect(res.body).not.toContain('1');
    }
  });
});

describe('signed events', () => {
  it('accepts a signed batch and hands parsed events on', async () => {
    const { app, received } = await build();
    const body = JSON.stringify(statusPayload([{ id: 'wamid.A', status: 'sent' }, { id: 'wamid.B', status: 'delivered' }]));
    const res = await post(app, body, signMetaBody(body, APP_SECRET));
    expect(res.statusCode).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]!.map((e) => e.kind === 'status' && `${e.wamid}/${e.status}`)).toEqual(['wamid.A/sent', 'wamid.B/delivered']);
  });

  it('refuses unsigned, forged and modified bodies with 401 and calls nothing', async () => {
    const { app, received, counters } = await build();
    const body = JSON.stringify(statusPayload([{ id: 'wamid.A', status: 'sent' }]));
    const good = signMetaBody(body, APP_SECRET);
    const cases: Array<[string, string | undefined]> = [
      [body, undefined],
      [body, signMetaBody(body, 'another-secret')],
      [body.replace('wamid.A', 'wamid.Z'), good],
      [body, good.replace('sha256=', 'sha1=')],
      [body, 'sha256=' + 'ab'.repeat(16)],
      [body, 'sha256=zz' + good.slice(9)],
    ];
    for (const [payload, sig] of cases) {
      const res = await post(app, payload, sig);
      expect(res.statusCode).toBe(401);
      const json = res.json();
      expect(json.error.code).toBe(190);
      expect(json.error.type).toBe('OAuthException');
      expect(typeof json.error.fbtrace_id).toBe('string');
    }
    expect(received).toHaveLength(0);
    expect(counters.badSignature).toBe(cases.length);
  });

  it('verifies Meta\'s ASCII-escaped form of a non-ASCII body, and its UTF-8 re-encoding', async () => {
    const { app, received } = await build();
    const utf8 = JSON.stringify(inboundPayload([{ id: 'wamid.IN1', body: 'Olá, ARRÊT ✓ 😀' }]));
    const ascii = escapeNonAscii(utf8);
    expect(ascii).toMatch(/\\u00e1/);
    expect(/^[\x00-\x7f]*$/.test(ascii)).toBe(true);
    const sig = signMetaBody(ascii, APP_SECRET);
    expect((await post(app, ascii, sig)).statusCode).toBe(200);
    const first = received[0]![0]!;
    expect(first.kind === 'inbound' && first.text).toBe('Olá, ARRÊT ✓ 😀');
    // Same content decoded to UTF-8 somewhere on the way: the raw bytes differ from what was signed.
    const again = JSON.stringify(inboundPayload([{ id: 'wamid.IN2', body: 'Olá, ARRÊT ✓ 😀' }]));
    expect((await post(app, again, signMetaBody(escapeNonAscii(again), APP_SECRET))).statusCode).toBe(200);
    expect(received).toHaveLength(2);
  });

  it('answers 400 to signed bytes that are not JSON', async () => {
    const { app, received } = await build();
    const res = await post(app, '{"entry":', signMetaBody('{"entry":', APP_SECRET));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe(100);
    expect(received).toHaveLength(0);
  });
});

describe('encapsulation', () => {
  it('keeps the raw-body parser to its own routes: the app\'s JSON routes still parse JSON', async () => {
    const app = Fastify();
    apps.push(app);
    app.removeContentTypeParser(['text/plain']);
    app.post('/echo', async (request) => ({ got: request.body }));
    await app.register(metaWebhookRoutes, { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN, onEvents: async () => {} });
    const echo = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' });
    expect(echo.json()).toEqual({ got: { a: 1 } });
    const text = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/plain' }, payload: 'x' });
    expect(text.statusCode).toBe(415);
    const body = JSON.stringify(statusPayload([{ id: 'wamid.E', status: 'sent' }]));
    const hook = await app.inject({ method: 'POST', url: '/webhooks/whatsapp', headers: { 'content-type': 'text/plain' }, payload: body });
    expect(hook.statusCode).toBe(401);
  });
});

describe('deduplication', () => {
  it('hands a redelivered status or message on once; new statuses of the same wamid pass', async () => {
    const { app, received, counters } = await build();
    const batch = JSON.stringify(statusPayload([{ id: 'wamid.A', status: 'sent' }, { id: 'wamid.A', status: 'sent' }]));
    for (let i = 0; i < 3; i++) expect((await post(app, batch, signMetaBody(batch, APP_SECRET))).statusCode).toBe(200);
    const read = JSON.stringify(statusPayload([{ id: 'wamid.A', status: 'read' }]));
    await post(app, read, signMetaBody(read, APP_SECRET));
    const inbound = JSON.stringify(inboundPayload([{ id: 'wamid.M1', body: 'hi' }]));
    await post(app, inbound, signMetaBody(inbound, APP_SECRET));
    await post(app, inbound, signMetaBody(inbound, APP_SECRET));
    const flat = received.flat().map((e) => (e.kind === 'status' ? `${e.wamid}/${e.status}` : e.kind === 'inbound' ? e.messageId : e.kind));
    expect(flat).toEqual(['wamid.A/sent', 'wamid.A/read', 'wamid.M1']);
    expect(counters.duplicates).toBe(1 + 2 + 2 + 1);
  });

  it('passes concurrent copies of one delivery on once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const received: MetaEvent[][] = [];
    const { app } = await build({ onEvents: async (events) => { received.push(events); await gate; } });
    const body = JSON.stringify(statusPayload([{ id: 'wamid.C', status: 'delivered' }]));
    const first = post(app, body, signMetaBody(body, APP_SECRET));
    const second = post(app, body, signMetaBody(body, APP_SECRET));
    await new Promise((r) => setTimeout(r, 20));
    release();
    expect([(await first).statusCode, (await second).statusCode]).toEqual([200, 200]);
    expect(received.flat()).toHaveLength(1);
  });

  it('lets Meta\'s retry through when the consumer failed', async () => {
    let fail = true;
    const received: MetaEvent[][] = [];
    const { app, counters } = await build({
      onEvents: async (events) => {
        if (fail) throw new Error('store down');
        received.push(events);
      },
    });
    const body = JSON.stringify(statusPayload([{ id: 'wamid.R', status: 'sent' }]));
    const res = await post(app, body, signMetaBody(body, APP_SECRET));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('store down');
    fail = false;
    expect((await post(app, body, signMetaBody(body, APP_SECRET))).statusCode).toBe(200);
    expect(received.flat()).toHaveLength(1);
    expect(counters.consumerFailures).toBe(1);
  });

  it('answers 503 without internals when the durable marks cannot be read, and accepts the retry', async () => {
    let broken = true;
    const marks = {
      seen: async () => {
        if (broken) throw new Error('SQLITE_IOERR: disk I/O error at /secret/path');
        return new Set<string>();
      },
      mark: () => {},
      close: () => {},
    };
    const { app, received } = await build({ dedupe: new DeliveryDedupe({ clock: systemClock, marks }) });
    const body = JSON.stringify(statusPayload([{ id: 'wamid.IO', status: 'sent' }]));
    const res = await post(app, body, signMetaBody(body, APP_SECRET));
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toContain('SQLITE');
    expect(received).toHaveLength(0);
    broken = false;
    expect((await post(app, body, signMetaBody(body, APP_SECRET))).statusCode).toBe(200);
    expect(received.flat()).toHaveLength(1);
  });

  it('remembers deliveries across a restart through the durable marks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-wh-'));
    try {
      const body = JSON.stringify(statusPayload([{ id: 'wamid.D', status: 'read' }]));
      const runOnce = async () => {
        const db = openWebhooksDb(dir);
        const marks = new SqliteSeenMarks(db);
        const { app, received } = await build({ dedupe: new DeliveryDedupe({ clock: systemClock, marks }) });
        expect((await post(app, body, signMetaBody(body, APP_SECRET))).statusCode).toBe(200);
        await app.close();
        marks.close();
        db.close();
        return received.flat().length;
      };
      expect(await runOnce()).toBe(1);
      expect(await runOnce()).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
