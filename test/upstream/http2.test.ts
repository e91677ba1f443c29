/**
 * The upstream over TLS, as to graph.facebook.com: HTTP/2 negotiated by ALPN with many requests
 * multiplexed on one connection, HTTP/1.1 when `http2` is off, and a reset stream that fails only
 * its own request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { selfSignedPair } from '../../src/sim/self-signed.js';
import { createUndiciUpstream, poolConnections, usesHttp2 } from '../../src/upstream/undici-upstream.js';

const TOKEN = 'EAAG-secret-token-value';
const body = (i: number) => JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: `+1555123${String(i).padStart(4, '0')}`, type: 'text', text: { body: 'hi' } });

describe('upstream over TLS', () => {
  let sim: Simulator;
  let ca: string;

  beforeAll(async () => {
    const pair = selfSignedPair();
    ca = pair.cert;
    sim = await startSimulator({
      tls: pair,
      limits: { pairIntervalMs: 0, mps: 100_000, burst: 100_000 },
      numbers: [
        { phoneNumberId: '6001', accessToken: TOKEN, faults: { latency: { kind: 'fixed', ms: 500 } } },
        { phoneNumberId: '6002', accessToken: TOKEN, faults: { resetRate: 1 } },
      ],
    });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('sends HTTP/2 streams by default: 300 concurrent requests on at most 3 connections of 100 streams', async () => {
    expect(sim.url.startsWith('https://')).toBe(true);
    const settings = { baseUrl: sim.url, version: 'v23.0', timeoutMs: 5000, maxInFlight: 300, streamsPerConnection: 100 };
    expect(usesHttp2(settings)).toBe(true);
    expect(poolConnections(settings)).toBe(3);
    expect(poolConnections({ ...settings, streamsPerConnection: undefined })).toBe(1); // default 1000 per connection
    const upstream = createUndiciUpstream(settings, { ca });
    sim.reset();
    const startMs = performance.now();
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => upstream.send({ phoneNumberId: '6001', accessToken: TOKEN, body: body(i) })));
    const tookMs = performance.now() - startMs;
    await upstream.close();
    expect(results.filter((r) => r.kind === 'ok')).toHaveLength(300);
    // Multiplexed, the 300 answers (500 ms each) come back in about one latency; one request at a
    // time per connection (undici's default for a POST) would take 300 / 3 × 500 ms = 50 s.
    expect(tookMs).toBeLessThan(10_000);
    expect(sim.stats().protocols).toEqual({ '2.0': 300 });
  });

  it('uses HTTP/1.1 when http2 is off, one socket per request', async () => {
    const settings = { baseUrl: sim.url, version: 'v23.0', timeoutMs: 5000, maxInFlight: 50, http2: false };
    expect(usesHttp2(settings)).toBe(false);
    expect(poolConnections(settings)).toBe(50);
    const upstream = createUndiciUpstream(settings, { ca });
    sim.reset();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => upstream.send({ phoneNumberId: '6001', accessToken: TOKEN, body: body(i) })));
    await upstream.close();
    expect(results.every((r) => r.kind === 'ok')).toBe(true);
    expect(sim.stats().protocols).toEqual({ '1.1': 20 });
  });

  it('a reset stream fails its own request only; the others on the connection are answered', async () => {
    const upstream = createUndiciUpstream({ baseUrl: sim.url, version: 'v23.0', timeoutMs: 5000 }, { ca });
    const [bad, ...good] = await Promise.all([
      upstream.send({ phoneNumberId: '6002', accessToken: TOKEN, body: body(1) }),
      ...Array.from({ length: 20 }, (_, i) => upstream.send({ phoneNumberId: '6001', accessToken: TOKEN, body: body(i) })),
    ]);
    await upstream.close();
    expect(bad!.kind).toBe('network');
    expect(good.every((r) => r.kind === 'ok')).toBe(true);
  });

  it('plain-http upstreams stay on HTTP/1.1 whatever http2 says (h2 needs ALPN)', () => {
    expect(usesHttp2({ baseUrl: 'http://127.0.0.1:9090', version: 'v23.0', timeoutMs: 1000, http2: true })).toBe(false);
    expect(poolConnections({ baseUrl: 'http://127.0.0.1:9090', version: 'v23.0', timeoutMs: 1000 })).toBe(8192);
  });
});
