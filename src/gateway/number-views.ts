/**
 * The operator's view of every number (`GET /admin/numbers`): its limits, pacing rate, queue and
 * pause, live from the dispatcher's lanes for the numbers this process dispatches. In a fleet a
 * number another process owns is answered from the store (its queue, the durable control state
 * and the lease holder), so any process answers for all of them.
 */
import type { Clock } from '../clock.js';
import type { NumberControl, OperatorControl, PauseReason, TenantControl } from '../dispatch/control-state.js';
import type { LaneView, NumberInfo } from '../dispatch/types.js';
import type { StoredNumberState } from '../store/redis/number-state.js';
import type { ControlEntry } from '../store/types.js';

export interface NumberPause {
  by: 'operator' | 'upstream' | 'meta';
  /** The Graph code of the upstream answer that paused it (131048, 190, 131057, …). */
  code?: number;
  /** A timed pause ends then (131057 maintenance, a rate-limit round); absent: until resumed. */
  until?: string;
  since?: string;
  /** The number itself, or every number of its tenant. */
  scope: 'number' | 'tenant';
}

export interface NumberView {
  phone_number_id: string;
  tenant: string;
  mps: number;
  burst: number;
  effective_mps: number;
  queue_depth: number;
  oldest_queued_age_sec: number;
  /** Upstream requests in flight; null for a number another process of the fleet dispatches. */
  in_flight: number | null;
  paused: NumberPause | null;
  /** Upstream sends answered ok by this process since it started (a rate is its difference over time); null: another process dispatches it. */
  sent_total: number | null;
  /** In a fleet: the process holding the number's lease (null: none right now). */
  owner?: string | null;
}

export interface NumberViewSources {
  numbers: ReadonlyMap<string, NumberInfo>;
  lanes: () => readonly LaneView[];
  /** config.dispatch.headroom: what pacing applies to mps when no override says otherwise. */
  headroom: number;
  clock: Clock;
  /** Upstream sends answered ok by this process, per number (bounded by the configured numbers). */
  sent: ReadonlyMap<string, number>;
  /** In a fleet: this process, which numbers it dispatches, and the store's view of the others. */
  fleet?: {
    memberId: string;
    holds(phoneNumberId: string): boolean;
    stored(tenantId: string, phoneNumberId: string): Promise<StoredNumberState>;
    controlEntries(): Promise<ControlEntry[]>;
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();

function pauseOf(reason: PauseReason | null | undefined, scope: NumberPause['scope']): NumberPause | null {
  if (reason === null || reason === undefined) return null;
  return { by: reason.by, ...(reason.code === undefined ? {} : { code: reason.code }), since: iso(reason.atMs), scope };
}

function timedPause(untilMs: number, nowMs: number): NumberPause | null {
  return untilMs > nowMs ? { by: 'upstream', until: iso(untilMs), scope: 'number' } : null;
}

export async function numberViews(src: NumberViewSources): Promise<NumberView[]> {
  const nowMs = src.clock.nowMs();
  const lanes = new Map(src.lanes().map((l) => [l.phoneNumberId, l]));
  const fleet = src.fleet;
  const control = fleet === undefined ? new Map<string, unknown>() : new Map((await fleet.controlEntries()).map((e) => [e.key, e.value]));
  const views = await Promise.all([...src.numbers].map(async ([phoneNumberId, info]): Promise<NumberView> => {
    if (fleet === undefined || fleet.holds(phoneNumberId)) {
      const lane = lanes.get(phoneNumberId);
      const view: NumberView = {
        phone_number_id: phoneNumberId, tenant: info.tenantId,
        mps: lane?.configuredMps ?? info.mps, burst: lane?.burst ?? info.burst,
        effective_mps: lane?.effectiveMps ?? info.mps * src.headroom,
        queue_depth: lane?.depth ?? 0, oldest_queued_age_sec: (lane?.oldestAgeMs ?? 0) / 1000, in_flight: lane?.inFlight ?? 0,
        sent_total: src.sent.get(phoneNumberId) ?? 0,
        paused: lane === undefined ? null
          : pauseOf(lane.pause, 'number') ?? pauseOf(lane.tenantPause, 'tenant') ?? timedPause(lane.pausedUntilMs, nowMs),
      };
      return fleet === undefined ? view : { ...view, owner: fleet.memberId };
    }
    return remoteView(phoneNumberId, info, await fleet.stored(info.tenantId, phoneNumberId), control, src.headroom, nowMs);
  }));
  return views.sort((a, b) => a.tenant.localeCompare(b.tenant) || a.phone_number_id.localeCompare(b.phone_number_id));
}

/** A number another process dispatches: what the store and the durable control state say. */
function remoteView(
  phoneNumberId: string, info: NumberInfo, stored: StoredNumberState, control: ReadonlyMap<string, unknown>, headroom: number, nowMs: number,
): NumberView {
  const own = (control.get(`number:${phoneNumberId}`) ?? {}) as NumberControl;
  const operator = (control.get(`operator:${phoneNumberId}`) ?? {}) as OperatorControl;
  const tenant = (control.get(`tenant:${info.tenantId}`) ?? {}) as TenantControl;
  // As the owner applies them (control-state.ts applyControl): an operator's resume ends older pauses.
  const resumedAtMs = operator.resumedAtMs ?? 0;
  const upstream = own.paused !== undefined && own.paused.atMs > resumedAtMs ? own.paused : undefined;
  const mps = operator.overrides?.mps ?? info.mps;
  return {
    phone_number_id: phoneNumberId, tenant: info.tenantId,
    mps, burst: operator.overrides?.burst ?? info.burst,
    effective_mps: mps * (operator.overrides?.headroom ?? headroom),
    queue_depth: stored.depth,
    oldest_queued_age_sec: stored.oldestCreatedAtMs === null ? 0 : Math.max(0, nowMs - stored.oldestCreatedAtMs) / 1000,
    in_flight: null,
    sent_total: null,
    paused: pauseOf(operator.paused, 'number') ?? pauseOf(upstream, 'number') ?? pauseOf(tenant.paused, 'tenant')
      ?? timedPause(own.pausedUntilMs ?? 0, nowMs),
    owner: stored.owner,
  };
}
