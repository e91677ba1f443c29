/**
 * The dispatcher's durable control state: what steers a number or a tenant besides its messages
 * (pauses with who paused and why, timed pauses and rate-limit rounds, limit overrides, the learned
 * throughput), written to the store when it changes and restored before the first departure after
 * a restart, so a restart never un-pauses a number or forgets a lowered limit.
 *
 * One key builder (`controlKeys`); one writer per key at a time: a change while that key's write is
 * under way is written right after it (the latest state wins, nothing is written twice at once).
 */
import type { ControlEntry } from '../store/types.js';
import type { Lane } from './lane.js';
import type { RateSnapshot } from './rate-control.js';
import type { DispatchState } from './state.js';
import type { LimitsPatch } from './types.js';

export const controlKeys = {
  number: (phoneNumberId: string): string => `number:${phoneNumberId}`,
  /**
   * In a fleet, what an operator decided about a number (pause, resume, limit overrides): written
   * by whichever process took the admin call, while `number:` is written by the number's owner
   * only. One writer per key: neither can overwrite the other's decision.
   */
  operator: (phoneNumberId: string): string => `operator:${phoneNumberId}`,
  tenant: (tenantId: string): string => `tenant:${tenantId}`,
};

/** An operator's decisions about a number in a fleet (`operator:` key). */
export interface OperatorControl {
  paused?: PauseReason;
  /** An operator resumed the number then: a pause from before (operator's or upstream's) is over. */
  resumedAtMs?: number;
  overrides?: LimitsPatch;
}

/** Who paused, and why: an operator, an upstream answer with its Graph code, or a Meta account signal (account_update). */
export interface PauseReason {
  by: 'operator' | 'upstream' | 'meta';
  code?: number;
  atMs: number;
}

export interface NumberControl {
  /** Paused until resumed through the admin API. */
  paused?: PauseReason;
  /** A timed pause (131057 maintenance, a rate-limit round) ends here; one probe goes first. */
  pausedUntilMs?: number;
  probing?: boolean;
  throttle?: { untilMs: number; strikes: number };
  overrides?: LimitsPatch;
  rate?: RateSnapshot;
}

export interface TenantControl {
  paused?: PauseReason;
}

/** The lane's control state as stored; null when there is nothing to keep (the entry is deleted). */
export function laneControl(lane: Lane, nowMs: number, fleet = false): NumberControl | null {
  const out: NumberControl = {};
  // In a fleet an operator's pause and overrides live under `operator:` (operatorControl).
  if (lane.pause !== null && !(fleet && lane.pause.by === 'operator')) out.paused = lane.pause;
  if (lane.pausedUntilMs > nowMs) {
    out.pausedUntilMs = lane.pausedUntilMs;
    if (lane.probing) out.probing = true;
  }
  if (lane.throttledUntilMs > nowMs || lane.throttleStrikes > 0) out.throttle = { untilMs: lane.throttledUntilMs, strikes: lane.throttleStrikes };
  if (!fleet && Object.keys(lane.overrides).length > 0) out.overrides = lane.overrides;
  const rate = lane.rate.snapshot();
  if (rate !== null) out.rate = rate;
  return Object.keys(out).length === 0 ? null : out;
}

/** Writes one key's current value, coalescing changes made while a write is under way. */
function save(s: DispatchState, key: string, current: () => unknown): void {
  const store = s.deps.control;
  if (store === undefined || s.closing) return;
  if (s.controlWrites.has(key)) {
    s.controlWrites.set(key, true); // dirty: written again when the running write ends
    return;
  }
  s.controlWrites.set(key, false);
  s.background(async () => {
    try {
      for (;;) {
        try {
          await store.putControl(key, current());
        } catch (err) {
          s.deps.log.error({ key, err: (err as Error).message }, 'control state not saved: kept in memory, saved again with the next change');
        }
        if (s.controlWrites.get(key) !== true) return;
        s.controlWrites.set(key, false);
      }
    } finally {
      s.controlWrites.delete(key);
    }
  });
}

export function saveLane(s: DispatchState, lane: Lane): void {
  save(s, controlKeys.number(lane.phoneNumberId), () => laneControl(lane, s.deps.clock.nowMs(), s.deps.fleet !== undefined));
}

/**
 * An operator changed the lane (pause, resume, limits). In a fleet that goes under its own key,
 * from any process; alone, it is part of the lane's entry.
 */
export function saveOperator(s: DispatchState, lane: Lane): void {
  if (s.deps.fleet === undefined) {
    saveLane(s, lane);
    return;
  }
  save(s, controlKeys.operator(lane.phoneNumberId), () => {
    const out: OperatorControl = {};
    if (lane.pause?.by === 'operator') out.paused = lane.pause;
    else if (lane.operatorResumedAtMs > 0) out.resumedAtMs = lane.operatorResumedAtMs;
    if (Object.keys(lane.overrides).length > 0) out.overrides = lane.overrides;
    return Object.keys(out).length === 0 ? null : out;
  });
}

export function saveTenant(s: DispatchState, tenantId: string): void {
  save(s, controlKeys.tenant(tenantId), () => {
    const pause = s.pausedTenants.get(tenantId);
    return pause === undefined ? null : ({ paused: pause } satisfies TenantControl);
  });
}

/**
 * Applies stored control state; called before the first message is handed to the dispatcher (in a
 * fleet also when a process takes a number over, `number:` entries before `operator:` ones).
 */
export function restore(s: DispatchState, entries: readonly ControlEntry[]): void {
  for (const entry of entries) applyControl(s, entry.key, entry.value);
}

/**
 * One entry's value applied to the lane or tenant it steers. `null` (in a fleet, an entry another
 * process deleted) clears what that key holds.
 */
export function applyControl(s: DispatchState, key: string, stored: unknown): void {
  const nowMs = s.deps.clock.nowMs();
  const sep = key.indexOf(':');
  const kind = key.slice(0, sep);
  const id = key.slice(sep + 1);
  if (kind === 'tenant') {
    const value = (stored ?? {}) as TenantControl;
    if (value.paused !== undefined) s.pausedTenants.set(id, value.paused);
    else s.pausedTenants.delete(id);
    return;
  }
  if (kind === 'operator') {
    const value = (stored ?? {}) as OperatorControl;
    const lane = s.laneFor(id, s.deps.numbers.get(id)?.tenantId ?? '');
    lane.overrides = { ...value.overrides };
    if (value.paused !== undefined) lane.pause = value.paused;
    else if (lane.pause?.by === 'operator') lane.pause = null;
    if (value.resumedAtMs !== undefined && lane.pause !== null && lane.pause.atMs <= value.resumedAtMs) {
      lane.pause = null;
      lane.pausedUntilMs = 0;
    }
    lane.operatorResumedAtMs = value.resumedAtMs ?? 0;
    return;
  }
  if (kind !== 'number' || stored === null) return;
  {
    const value = stored as NumberControl;
    const lane = s.laneFor(id, s.deps.numbers.get(id)?.tenantId ?? '');
    if (value.paused !== undefined) lane.pause = value.paused;
    if (value.pausedUntilMs !== undefined && value.pausedUntilMs > nowMs) {
      lane.pausedUntilMs = value.pausedUntilMs;
      lane.probing = value.probing === true;
    } else if (value.probing === true || value.pausedUntilMs !== undefined) {
      lane.probing = true; // the pause ended while down: its probe still goes first
    }
    if (value.throttle !== undefined) {
      lane.throttledUntilMs = value.throttle.untilMs;
      lane.throttleStrikes = value.throttle.strikes;
    }
    if (value.overrides !== undefined) lane.overrides = { ...value.overrides };
    if (value.rate !== undefined) lane.rate.restore(value.rate);
  }
}
