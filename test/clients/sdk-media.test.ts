/**
 * Media through sendgate with the SDKs' own helpers, changing only where they send: upload
 * (multipart, streamed to the simulator with the number's token), retrieve the media URL, delete.
 * Also the relay's own limits: a size cap (413), a per-tenant rate limit
 * (429 + Retry-After), and another tenant's number or media refused.
 */
import Client from '@great-detail/whatsapp';
import { WhatsAppAPI } from 'whatsapp-api-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, NUMBER, OTHER_KEY, OTHER_NUMBER, startStack, type Stack } from '../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gateway: { limits: { mediaMaxBytes: 256 * 1024, mediaRequestsPerSec: 1000, mediaBurst: 1000 } } });
});
afterAll(() => stack?.close());

/** A small PNG-typed payload with recognisable bytes. */
const png = (size = 4096): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff);

describe('whatsapp-api-js media helpers', () => {
  const api = (token = API_KEY) => new WhatsAppAPI({
    token, v: 'v23.0', secure: false,
    ponyfill: { fetch: (url, init) => fetch(String(url).replace('https://graph.facebook.com', stack.gateway.url), init) },
  });

  it('uploads, retrieves and deletes a media item; the bytes reach the upstream intact', async () => {
    const bytes = png();
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'image/png' }), 'pixel.png');
    const uploaded = (await api().uploadMedia(NUMBER, form)) as any;
    expect(uploaded.id).toMatch(/^[0-9]+$/);
    const stored = stack.sim.media(uploaded.id);
    expect(stored?.phoneNumberId).toBe(NUMBER);
    expect(stored?.mimeType).toBe('image/png');
    expect(Buffer.compare(stored!.bytes, Buffer.from(bytes))).toBe(0);

    const info = (await api().retrieveMedia(uploaded.id, NUMBER)) as any;
    expect(info).toMatchObject({ messaging_product: 'whatsapp', id: uploaded.id, mime_type: 'image/png', file_size: bytes.length });
    expect(info.sha256).toBe(stored!.sha256);

    expect(await api().deleteMedia(uploaded.id)).toEqual({ success: true });
    expect(stack.sim.media(uploaded.id)).toBeUndefined();
    const gone = (await api().retrieveMedia(uploaded.id)) as any;
    expect(gone.error.code).toBe(100);
  });

  it("refuses another tenant's number and another tenant's key", async () => {
    const form = new FormData();
    form.append('file', new Blob([png(10)], { type: 'image/png' }), 'x.png');
    const other = (await api().uploadMedia(OTHER_NUMBER, form)) as any;
    expect(other.error).toBeDefined();
    const badKey = (await api('not-a-key-123').uploadMedia(NUMBER, form)) as any;
    expect(badKey.error.code).toBe(190);
    // A media id uploaded by acme, asked for with the other tenant's number: Meta (the simulator) refuses it.
    const mine = (await api().uploadMedia(NUMBER, form)) as any;
    const theirs = (await api(OTHER_KEY).retrieveMedia(mine.id, OTHER_NUMBER)) as any;
    expect(theirs.error.code).toBe(100);
  });
});

describe('@great-detail/whatsapp media helpers', () => {
  const sdk = () => new Client({ baseUrl: stack.gateway.url, graphVersion: 'v23.0/', request: { headers: { Authorization: `Bearer ${API_KEY}` } } } as any);

  it('uploads, gets the URL of, and deletes a media item', async () => {
    const bytes = png(2048);
    const uploaded = await (await sdk().media.upload({ phoneNumberID: NUMBER, file: new Blob([bytes], { type: 'image/jpeg' }), mimeType: 'image/jpeg', filename: 'a.jpg' })).json();
    expect(uploaded.id).toMatch(/^[0-9]+$/);
    expect(Buffer.compare(stack.sim.media(uploaded.id)!.bytes, Buffer.from(bytes))).toBe(0);
    const info = await (await sdk().media.getURL({ mediaID: uploaded.id, phoneNumberID: NUMBER })).json();
    expect(info).toMatchObject({ id: uploaded.id, mime_type: 'image/jpeg', file_size: 2048 });
    expect(await (await sdk().media.delete({ mediaID: uploaded.id })).json()).toEqual({ success: true });
  });
});

describe('relay limits', () => {
  it('cuts an upload past limits.mediaMaxBytes with 413', async () => {
    const form = new FormData();
    form.append('messaging_product', 'whatsapp');
    form.append('file', new Blob([new Uint8Array(300 * 1024)], { type: 'video/mp4' }), 'big.mp4');
    const res = await fetch(`${stack.gateway.url}/v23.0/${NUMBER}/media`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: form });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe(100);
  });

  it('refuses a body that is not multipart', async () => {
    const res = await fetch(`${stack.gateway.url}/v23.0/${NUMBER}/media`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: '{}',
    });
    expect(res.status).toBe(400);
  });
});

describe('relay rate limit', () => {
  let limited: Stack;
  beforeAll(async () => {
    limited = await startStack({ gateway: { limits: { mediaRequestsPerSec: 1, mediaBurst: 2 } } });
  });
  afterAll(() => limited?.close());

  it('answers 429 with Retry-After beyond the tenant burst', async () => {
    const get = () => fetch(`${limited.gateway.url}/v23.0/123456?phone_number_id=${NUMBER}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await get()).status);
    expect(statuses).toEqual([400, 400]); // relayed: the simulator does not know the id
    const over = await get();
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await over.json()) as any).error.code).toBe(900432);
  });
});
