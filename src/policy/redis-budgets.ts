/**
 * The shared budgets of a fleet on Redis: the tenant's messaging limit and repeated content, one
 * Lua script (src/store/redis/commands/budget-6.lua) with exactly the core's semantics (the
 * reference model's Ring and DistinctWindow, step for step; test/policy/redis-budgets.differential
 * .test.ts drives both with the same operations and clock). One call checks and charges both
 * budgets of a send in one round trip, in the engine's order: tier, then repeat (a refused repeat
 * gives the tier charge back inside the script).
 *
 * Holders: the engine's TierCharges counts the admissions that hold a recipient's slot; in a fleet
 * each process keeps that count locally and Redis counts the processes holding it (`hold`): a
 * process registers when its count leaves 0 and gives back when it returns to 0, so a slot frees
 * only when no process of the fleet still has a message holding it.
 */
import { REPEAT_RING, UNIQUE_RING, UNIQUE_WINDOW_MS } from '../core/types.js';
import { xxh64Hex } from '../core/xxh64.js';
import type { ScriptRunner } from '../store/redis/commands.js';
import type { RedisKeys } from '../store/redis/keys.js';

/** One script answer: 0 counted now, -1 already counted, > 0 refused (ms until a slot frees), -2 not checked. */
export const NOT_CHECKED = -2;

export interface BudgetRequest {
  /** The tenant's messaging limit; undefined: the tier is not checked (window open, unlimited, already held here). */
  limit?: number | undefined;
  /** Count this process as a holder of the recipient's slot when admitted. */
  hold: boolean;
  repeat?: { fingerprint: string; windowMs: number; maxRecipients: number } | undefined;
  /** Shadow mode: both checks run and nothing is undone. */
  shadow: boolean;
}

export interface BudgetAnswer {
  tier: number;
  repeat: number;
  /** Recipients counted in the tenant's moving 24 h after this call (-1 when the tier was not checked). */
  tierUsed: number;
}

export type TierRelease = 'none' | 'hold' | 'force';

const encoder = new TextEncoder();
const TIER_GEOMETRY = [String(UNIQUE_WINDOW_MS), String(UNIQUE_RING), String(REPEAT_RING)] as const;
/** A fingerprint's key part: fingerprints are texts (a template's parameters, up to 4 KiB); keys carry a hash. */
export const fingerprintKey = (fingerprint: string): string => xxh64Hex(encoder.encode(fingerprint));

export class RedisBudgets {
  constructor(
    private readonly run: ScriptRunner,
    private readonly keys: RedisKeys,
  ) {}

  charge(tenantId: string, recipient: string, request: BudgetRequest, nowMs: number): Promise<BudgetAnswer> {
    const r = request.repeat;
    return this.call(tenantId, r?.fingerprint, [
      'charge', String(nowMs), request.limit === undefined ? '' : String(request.limit), request.hold ? '1' : '0', recipient,
      r === undefined ? '' : String(r.windowMs), r === undefined ? '' : String(r.maxRecipients), request.shadow ? '1' : '0',
      ...TIER_GEOMETRY,
    ]).then((reply) => {
      const [tier, repeat, tierUsed] = reply as [number, number, number];
      return { tier, repeat, tierUsed };
    });
  }

  /** Gives back a tier slot (`hold`: this process's hold; `force`: the slot itself) and/or a repeat slot. Answers the tier's count. */
  release(tenantId: string, recipient: string, tier: TierRelease, fingerprint: string | undefined, nowMs: number): Promise<number> {
    return this.call(tenantId, fingerprint, [
      'release', String(nowMs), tier === 'none' ? '0' : tier, recipient, fingerprint === undefined ? '0' : '1', '', '', '', ...TIER_GEOMETRY,
    ]) as Promise<number>;
  }

  /** Recipients counted in the tenant's moving 24 h. */
  count(tenantId: string, nowMs: number): Promise<number> {
    return this.call(tenantId, undefined, ['count', String(nowMs), '', '', '', '', '', '', ...TIER_GEOMETRY]) as Promise<number>;
  }

  private call(tenantId: string, fingerprint: string | undefined, args: string[]): Promise<unknown> {
    const b = this.keys.policyBudget(tenantId);
    // Without a fingerprint the script reads no repeat key; any key of the tenant's slot fills the place.
    const repeat = this.keys.policyRepeat(tenantId, fingerprint === undefined ? '-' : fingerprintKey(fingerprint));
    return this.run('budget', [b.clock, b.tierRing, b.tierMembers, b.tierHolders, repeat.ring, repeat.members], args);
  }
}
