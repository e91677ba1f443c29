/**
 * Policy admission cost: `npx vitest bench --run test/policy/admit.bench.ts`
 *
 * admit() is on every send's hot path, synchronously before the durable enqueue. Cases:
 * - free-form reply inside an open window (window map lookup only);
 * - free-form with every content policy on (window, links, repeat fingerprint on the WASM core);
 * - template outside the window with everything on: consent read (cached, SQLite on a miss), tier charge
 *   (core.unique), repeat charge on the parameters, link scan, warm-up window;
 * - onInbound (window refresh + opt-out word check + write-behind).
 * Prints the machine first: numbers from a shared 2-core box are only comparable on that box.
 */
import { cpus } from 'node:os';
import { bench, describe } from 'vitest';
import { harness, recipient, TENANT, template, text } from './harness.js';

console.log(`machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, node ${process.version}`);

const RECIPIENTS = 200;
const plain = await harness({ policy: { optIn: 'off' } });
const full = await harness({
  policy: {
    optIn: 'enforce', repeat: { maxRecipients: 100_000, windowSec: 3600 }, links: { allowedDomains: ['shop.example'] },
    // A cap the bench cannot reach: the cost of the warm-up check is measured, not its refusals.
    warmup: { windowSec: 15, steps: [{ untilDays: 7, limit: 1_000_000 }] },
  },
  tenant: { messagingLimit: 100000 },
  numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-1', warmup: true }],
});
for (let i = 0; i < RECIPIENTS; i++) {
  plain.inbound(recipient(i), 'hi');
  full.inbound(recipient(10_000 + i), 'hi');
}
full.engine.recordConsent(Array.from({ length: RECIPIENTS }, (_, i) => ({ tenantId: TENANT, recipient: recipient(i), status: 'opt_in' as const, source: 'bench', atMs: full.clock.nowMs() })));

const reply = text('Your order #1234 ships tomorrow, track it at https://shop.example/t/1234');
const promo = template('order_update', ['#1234', 'https://shop.example/t/1234'], []);
let n = 0;
describe('admit()', () => {
  bench('free-form reply, open window, no content policies', () => {
    plain.admit({ to: recipient(n++ % RECIPIENTS), body: reply });
  });
  bench('free-form reply, window + links + repeat', () => {
    full.admit({ to: recipient(10_000 + (n++ % RECIPIENTS)), body: reply });
  });
  bench('template outside the window, every policy on', () => {
    full.admit({ to: recipient(n++ % RECIPIENTS), body: promo, category: 'utility' });
  });
  bench('onInbound with opt-out word check', () => {
    plain.inbound(recipient(n++ % RECIPIENTS), 'Where is my order?');
  });
});
