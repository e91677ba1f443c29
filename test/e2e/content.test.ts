/**
 * Content policies through the whole gateway (service window off so free-form texts reach them):
 * repeated content to too many recipients, names after greetings ignored; links allowlist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, text, user, type E2eStack } from '../support/e2e-stack.js';
import { eventually } from '../support/stack.js';

const WINDOW_SEC = 600;
let s: E2eStack;

beforeAll(async () => {
  s = await startE2e({
    tenant: { policy: { serviceWindow: 'off', repeat: { maxRecipients: 10, windowSec: WINDOW_SEC }, links: { allowedDomains: ['shop.example'] } } },
  });
});
afterAll(() => s?.close());

async function sendAll(bodies: Array<{ to: string; body: string }>) {
  const out = [];
  for (const b of bodies) out.push(await s.send(text(b.to, b.body)));
  return out;
}

describe('repeated content', () => {
  it('sends an identical text to 10 recipients and refuses the other 20', async () => {
    const before = s.sim.stats().totals.accepted;
    const res = await sendAll(Array.from({ length: 30 }, (_, i) => ({ to: user(100 + i), body: 'Big sale today only, 50% off everything!' })));
    expect(res.filter((r) => r.status === 202)).toHaveLength(10);
    const refused = res.filter((r) => r.status === 422);
    expect(refused).toHaveLength(20);
    for (const r of refused) {
      expect(r.json.error.code).toBe(900423);
      expect(r.json.error.error_data.details).toMatch(/^policy repeat:/);
    }
    // The first ten are the admitted ones, and they are really sent.
    expect(res.slice(0, 10).every((r) => r.status === 202)).toBe(true);
    await eventually(() => (s.sim.stats().totals.accepted - before === 10 ? true : undefined));
    // The same recipient again is not a new recipient of that content.
    expect((await s.send(text(user(100), 'Big sale today only, 50% off everything!'))).status).toBe(202);
  });

  it('catches the same text with only the names changed, and frees up after the window', async () => {
    const names = ['Ana', 'Bo', 'Carla', 'Dmitri', 'Eve', 'Farid', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kai', 'Lea'];
    const res = await sendAll(names.map((name, i) => ({ to: user(200 + i), body: `Hi ${name}, your parcel is waiting at the counter.` })));
    expect(res.map((r) => r.status)).toEqual([...Array(10).fill(202), 422, 422]);
    expect(res[10]!.json.error.code).toBe(900423);

    // Retry-After is honest: waiting exactly that long frees a slot (not a second less).
    const retryAfterSec = Number(res[11]!.headers['retry-after']);
    expect(retryAfterSec).toBeGreaterThan(0);
    expect(retryAfterSec).toBeLessThanOrEqual(WINDOW_SEC * 1.1);
    s.clock.advance(retryAfterSec * 1000 - 1000);
    expect((await s.send(text(user(298), 'Hi Yuki, your parcel is waiting at the counter.'))).status).toBe(422);
    s.clock.advance(1000);
    const later = await s.send(text(user(299), 'Hi Zoe, your parcel is waiting at the counter.'));
    expect(later.status, JSON.stringify(later.json)).toBe(202);
  });
});

describe('links allowlist', () => {
  it('passes allowed domains and their subdomains, refuses others', async () => {
    expect((await s.send(text(user(300), 'Your cart: https://shop.example/cart/1'))).status).toBe(202);
    expect((await s.send(text(user(301), 'Track it at https://track.shop.example/p/9'))).status).toBe(202);
    const refused = await s.send(text(user(302), 'Claim it at https://shop-example.evil.test/win'));
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe(900424);
    expect(refused.json.error.error_data.details).toMatch(/^policy links: .*shop-example\.evil\.test/);
    const bare = await s.send(text(user(303), 'or go to www.other.example today'));
    expect(bare.status).toBe(422);
    expect(bare.json.error.code).toBe(900424);
  });
});
