/**
 * What the parts of the dispatcher share: the wake-up entries of the one timer, and the context
 * reactions.ts acts through (state it mutates, effects it triggers).
 */
import { ERRORS } from '../errors.js';
import type { RecordedError } from '../store/types.js';
import type { PauseReason } from './control-state.js';
import type { Job, Lane } from './lane.js';
import type { DispatcherDeps, NumberInfo, Outcome } from './types.js';
import type { WakeTimer } from './wake-timer.js';

export type Wake =
  | { atMs: number; seq?: number; kind: 'lane'; lane: Lane }
  | { atMs: number; seq?: number; kind: 'job'; lane: Lane; job: Job }
  | { atMs: number; seq?: number; kind: 'park'; lane: Lane; recipient: string }
  /** While a lane is paused nothing else looks at its messages: this expires the ones past their deadline. */
  | { atMs: number; seq?: number; kind: 'sweep'; lane: Lane };

/** What reactions.ts needs from the dispatcher: the state it mutates and the effects it triggers. */
export interface DispatchContext {
  readonly deps: DispatcherDeps;
  readonly random: () => number;
  /** Every lane by phone number id (a tenant-wide back-off pauses each of the tenant's). */
  readonly lanes: ReadonlyMap<string, Lane>;
  /** Paused tenants, with who paused them and why. */
  readonly pausedTenants: Map<string, PauseReason>;
  readonly timer: WakeTimer<Wake>;
  /**
   * Commits a transition. 'refused': the store does not know the message or it is already final
   * (someone else finished it); 'error': the store could not commit (logged).
   */
  transition(job: Job, change: Parameters<DispatcherDeps['store']['transition']>[1]): Promise<'applied' | 'refused' | 'error'>;
  finish(lane: Lane, job: Job, outcome: Outcome): void;
  /** Deadline passed: never sent. `lastError` is the upstream answer that delayed it, if any. */
  expire(lane: Lane, job: Job, lastError: RecordedError | null): Promise<void>;
  targetMps(lane: Lane, info: NumberInfo): number;
  /** The dispatcher is shutting down. */
  isClosing(): boolean;
  /** The lane's control state changed (pause, rate): written to the store (`tenant`: its tenant's too). */
  saveControl(lane: Lane, tenant: boolean): void;
  /** Back into the lane after `delayMs` (0: now, in the `due` FIFO). Counts as waiting again. */
  requeue(lane: Lane, job: Job, delayMs: number): void;
  /**
   * Its `queued` row due at `atMs` is committed: a far retry waits in the store, not in memory
   * (paging.ts leaveInStore). False: the caller requeues it in memory.
   */
  leaveInStore(lane: Lane, job: Job, atMs: number): boolean;
}

export const UNKNOWN_NUMBER_ERROR: RecordedError = { code: 100, title: 'Unknown phone number', details: 'the number is not configured', httpStatus: 0 };
export const DEADLINE_ERROR: RecordedError = {
  code: ERRORS.DEADLINE_UNMEETABLE.graphCode,
  title: ERRORS.DEADLINE_UNMEETABLE.title,
  details: 'the deadline passed before the message could be sent',
  httpStatus: 0,
};

