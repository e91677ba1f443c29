/**
 * The plan's arithmetic on its own: exclusions by reason from the judge, the split between what
 * goes now and what waits for the messaging limit, and the finish time from the pace and the
 * 24 h timeline.
 */
import { describe, expect, it } from 'vitest';
import { finishAtMs, KeySet, planOf, screenRecipients, type Judge } from '../../src/broadcasts/plan.js';
import { GatewayError } from '../../src/errors.js';

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

/** Opted out: numbers ending in 9; already counted in the 24 h: ending in 0. */
const judge: Judge = {
  judge: ({ to }) => to.endsWith('9')
    ? { refusal: new GatewayError('RECIPIENT_OPTED_OUT', 'opted out'), newTierSlot: false }
    : to.endsWith('8')
      ? { refusal: new GatewayError('OPT_IN_REQUIRED', 'no opt-in'), newTierSlot: false }
      : { refusal: null, newTierSlot: !to.endsWith('0') },
};

const input = (tos: string[]) => ({
  tenantId: 't', phoneNumberId: 'n', category: 'marketing', message: { type: 'template', template: { name: 'x' } },
  count: tos.length, recipients: tos.map((toInput) => ({ toInput, components: null })), nowMs: NOW,
});

describe('broadcast plan', () => {
  it('finds duplicates among a million keys exactly', () => {
    const set = new KeySet(1_000_000);
    let added = 0;
    for (let i = 0; i < 1_000_000; i++) if (set.add(1_000_000_000_000_000 + i * 7919)) added++;
    expect(added).toBe(1_000_000);
    let again = 0;
    for (let i = 0; i < 1_000_000; i += 997) if (set.add(1_000_000_000_000_000 + i * 7919)) again++;
    expect(again).toBe(0);
    expect(set.add(1_999_999_999_999_999)).toBe(true);
    expect(set.add(1_999_999_999_999_999)).toBe(false);
  });

  it('counts exclusions by reason and keeps the sendable ones', async () => {
    const tos = ['+14155550001', '+1 415 555 0001', 'x', '+14155550009', '+14155550008', '+14155550010', '+14155550002'];
    const s = await screenRecipients(judge, input(tos));
    expect(s).toMatchObject({ recipients: 7, sendable: 3, newUnique: 2 });
    expect(s.excluded).toEqual({ opted_out: 1, invalid: 1, duplicate: 1, no_opt_in: 1 });
    expect([...Array(7).keys()].filter((i) => (s.keep[i >> 3]! & (1 << (i & 7))) !== 0)).toEqual([0, 5, 6]);
  });

  it('splits new recipients at the free slots and times the rest by the 24 h window', async () => {
    const tos = Array.from({ length: 3000 }, (_, i) => `+1415${String(5_500_001 + i * 10)}`); // none ends in 0, 8 or 9
    const s = await screenRecipients(judge, input(tos));
    const plan = planOf(s, 2000, 2000, { rateMps: 100, backlogMs: 0 }, NOW, NOW);
    expect(plan).toMatchObject({ sendable_now: 2000, waiting_for_limit: 1000, new_unique_recipients: 3000, messaging_limit_free: 2000 });
    // The 2,000 leave over 20 s; the 1,000th waiting one takes the slot of the 1,000th that left, 24 h later.
    expect(Date.parse(plan.finish_at)).toBe(NOW + DAY + 999 * 10 + 10);
    const unlimited = planOf(s, null, null, { rateMps: 100, backlogMs: 5000 }, NOW, NOW);
    expect(unlimited).toMatchObject({ sendable_now: 3000, waiting_for_limit: 0, eta_seconds: 35 });
  });

  it('starts after not_before and the backlog, whichever is later', () => {
    expect(finishAtMs({ rateMps: 10, backlogMs: 1000 }, { sendableNow: 10, waitingForLimit: 0, slotsUsed: 0, startMs: NOW, nowMs: NOW })).toBe(NOW + 2000);
    expect(finishAtMs({ rateMps: 10, backlogMs: 1000 }, { sendableNow: 10, waitingForLimit: 0, slotsUsed: 0, startMs: NOW + 60_000, nowMs: NOW })).toBe(NOW + 61_000);
    // A known next slot bounds the waiting ones.
    expect(finishAtMs({ rateMps: 10, backlogMs: 0 }, { sendableNow: 0, waitingForLimit: 5, slotsUsed: 0, startMs: NOW, nowMs: NOW, slotFreeAtMs: NOW + 7000 })).toBe(NOW + 7500);
  });
});
