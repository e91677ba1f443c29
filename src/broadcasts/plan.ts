/**
 * A broadcast's plan, in one pass over its recipients: who is excluded and why (judged by the
 * tenant's policies exactly as a single send would be, through the engine's judge(), which charges
 * and counts nothing), how many recipients are new to the moving 24 h messaging limit, how many
 * can go now and how many wait for slots, and when it should finish.
 *
 * Memory: one bit per recipient (which ones are sendable, for the pass that stores them) and a flat
 * table of 16 bytes per recipient for the duplicate check (KeySet), both freed with the request.
 */
import { toE164Digits } from '../cloud-api/e164.js';
import type { GatewayError } from '../errors.js';
import type { AdmitInput } from '../gateway/ports.js';
import { UNIQUE_WINDOW_MS } from '../core/types.js';
import { batchesOf, type Rows } from './store.js';
import type { BroadcastPlan } from './types.js';

/** One recipient as it came in (a JSON request's entry or an upload's row). */
export interface RecipientInput {
  toInput: string;
  /** The recipient's own `components`, or null. */
  components: unknown[] | null;
}

export type Verdict = { refusal: GatewayError | null; newTierSlot: boolean };

export interface Judge {
  judge(input: AdmitInput): Verdict;
  /**
   * The verdicts of many recipients at once, for an engine whose state is not all in memory (a
   * fleet's reads each recipient's shared state first, in one round trip per batch).
   */
  judgeBatch?(inputs: readonly AdmitInput[]): Promise<Verdict[]>;
}

/** What the pass found, before timing. */
export interface Screening {
  recipients: number;
  excluded: BroadcastPlan['excluded'];
  /** Sendable recipients. */
  sendable: number;
  newUnique: number;
  /** Bit i set: recipient i is sendable (stored and admitted later). */
  keep: Uint8Array;
}

/** Refusal codes → the plan's exclusion reasons (opt-out, invalid and duplicate are the contract's own). */
const REASONS: Readonly<Record<string, string>> = {
  RECIPIENT_OPTED_OUT: 'opted_out',
  OUTSIDE_SERVICE_WINDOW: 'outside_service_window',
  OPT_IN_REQUIRED: 'no_opt_in',
  RECIPIENT_UNDELIVERABLE: 'undeliverable',
  MARKETING_DEFERRED: 'marketing_deferred',
  LINK_NOT_ALLOWED: 'link_not_allowed',
};

/**
 * Duplicates are found on the recipient's digits as one number: '1' + up to 15 digits stays below
 * 2^53, and the leading '1' keeps "0123" and "123" apart (and keeps every key above 0, the empty mark).
 */
const dedupeKey = (digits: string): number => Number(`1${digits}`);

/**
 * An open-addressing set of such keys in one Float64Array (16 bytes per recipient at half load): a
 * 10^6 list costs 32 MiB of flat memory freed with the request, not a million-entry JS Set for the GC.
 */
export class KeySet {
  private readonly slots: Float64Array;
  private readonly mask: number;

  constructor(expected: number) {
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.slots = new Float64Array(size);
    this.mask = size - 1;
  }

  /** Adds `key` (> 0); false when it was already there. */
  add(key: number): boolean {
    const lo = key % 0x1_0000_0000;
    const hi = Math.floor(key / 0x1_0000_0000);
    let i = (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 0) & this.mask;
    for (;;) {
      const v = this.slots[i]!;
      if (v === 0) {
        this.slots[i] = key;
        return true;
      }
      if (v === key) return false;
      i = (i + 1) & this.mask;
    }
  }
}

export interface ScreenInput {
  tenantId: string;
  phoneNumberId: string;
  category: string;
  /** The message without `to`. */
  message: Record<string, unknown>;
  count: number;
  recipients: Rows<RecipientInput>;
  nowMs: number;
}

/** Recipients judged between two turns of the event loop (a few ms): a 10^6 plan does not stall the gateway. */
const PER_TURN = 8192;

export async function screenRecipients(judge: Judge, input: ScreenInput): Promise<Screening> {
  const excluded: BroadcastPlan['excluded'] = { opted_out: 0, invalid: 0, duplicate: 0 };
  const keep = new Uint8Array(Math.ceil(input.count / 8));
  const seen = new KeySet(input.count);
  const template = input.message.template as Record<string, unknown> | undefined;
  let i = 0;
  let sendable = 0;
  let newUnique = 0;
  // Per batch: the recipients left after the cheap checks, then their verdicts (at once in a fleet).
  const idxs: number[] = [];
  const inputs: AdmitInput[] = [];
  for await (const batch of batchesOf(input.recipients, PER_TURN)) {
    idxs.length = 0;
    inputs.length = 0;
    for (const r of batch) {
      const idx = i++;
      const digits = toE164Digits(r.toInput);
      if (digits === null) {
        excluded.invalid++;
        continue;
      }
      if (!seen.add(dedupeKey(digits))) {
        excluded.duplicate++;
        continue;
      }
      // Personalised content is judged as it will be sent (links inside a recipient's parameters).
      const body = r.components === null || template === undefined ? input.message : { ...input.message, template: { ...template, components: r.components } };
      idxs.push(idx);
      inputs.push({ tenantId: input.tenantId, phoneNumberId: input.phoneNumberId, to: digits, body, category: input.category, nowMs: input.nowMs });
    }
    const verdicts = judge.judgeBatch === undefined ? inputs.map((a) => judge.judge(a)) : await judge.judgeBatch(inputs);
    for (let k = 0; k < verdicts.length; k++) {
      const verdict = verdicts[k]!;
      if (verdict.refusal !== null) {
        const reason = REASONS[verdict.refusal.code] ?? verdict.refusal.code.toLowerCase();
        excluded[reason] = (excluded[reason] ?? 0) + 1;
        continue;
      }
      if (verdict.newTierSlot) newUnique++;
      sendable++;
      const idx = idxs[k]!;
      keep[idx >> 3]! |= 1 << (idx & 7);
    }
    // A turn of the event loop per batch (a few ms): a 10^6 plan does not stall the gateway.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { recipients: i, excluded, sendable, newUnique, keep };
}

export const isKept = (keep: Uint8Array, idx: number): boolean => (keep[idx >> 3]! & (1 << (idx & 7))) !== 0;

/** What the number's lane offers a broadcast now. */
export interface Pace {
  /** Messages per second the number may send now (learned rate, warm-up caps). */
  rateMps: number;
  /** How long what is already queued on the number takes, ms. */
  backlogMs: number;
}

export interface TimingInput {
  /** Recipients that go without a new slot or within the free ones. */
  sendableNow: number;
  waitingForLimit: number;
  /** Slots in use now (of the tenant's limit): they free within 24 h, before this broadcast's own. */
  slotsUsed: number;
  startMs: number;
  nowMs: number;
  /** When the limit's next slot frees, when known (it then bounds the waiting ones' start). */
  slotFreeAtMs?: number;
}

/**
 * When the last recipient should leave. Those that go now leave one per 1/rate after the number's
 * backlog. A waiting recipient takes the j-th slot to free: the slots in use free within 24 h (their
 * exact times are not tracked: 24 h is the bound used), then the ones this broadcast takes free
 * 24 h after its own departures. Pair rate does not bind: each recipient gets one message.
 */
export function finishAtMs(pace: Pace, t: TimingInput): number {
  const stepMs = 1000 / Math.max(pace.rateMps, 1e-6);
  const firstMs = Math.max(t.startMs, t.nowMs + pace.backlogMs);
  const ownSendMs = (i: number): number => firstMs + i * stepMs;
  let finishMs = firstMs + t.sendableNow * stepMs;
  if (t.waitingForLimit > 0) {
    const freeAt = (j: number): number => (t.slotFreeAtMs !== undefined
      ? t.slotFreeAtMs
      : j < t.slotsUsed ? t.nowMs + UNIQUE_WINDOW_MS : ownSendMs(j - t.slotsUsed) + UNIQUE_WINDOW_MS);
    const w = t.waitingForLimit;
    finishMs = Math.max(finishMs, freeAt(w - 1) + stepMs, freeAt(0) + w * stepMs);
  }
  return finishMs;
}

/** The contract's plan from a screening, the messaging limit's free slots and the pace. */
export function planOf(s: Screening, free: number | null, limit: number | null, pace: Pace, startMs: number, nowMs: number): BroadcastPlan {
  const waiting = free === null ? 0 : Math.max(0, s.newUnique - free);
  const sendableNow = s.sendable - waiting;
  const finish = finishAtMs(pace, { sendableNow, waitingForLimit: waiting, slotsUsed: limit === null || free === null ? 0 : limit - free, startMs, nowMs });
  return {
    recipients: s.recipients,
    excluded: s.excluded,
    new_unique_recipients: s.newUnique,
    messaging_limit_free: free,
    sendable_now: sendableNow,
    waiting_for_limit: waiting,
    eta_seconds: Math.max(0, Math.ceil((finish - nowMs) / 1000)),
    finish_at: new Date(finish).toISOString(),
  };
}
