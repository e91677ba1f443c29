/**
 * The dispatcher's public face: what ingress, the admin API and /metrics call, and the small seams
 * it is built on (Pacer, number lookup, log). Implementation: dispatcher.ts.
 */
import type { CoreKey } from '../core/keyhash.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { ControlEntry, ControlStateStore, Fence, MessageRecord, MessageState, Priority, RecordedError, Store } from '../store/types.js';
import type { Reaction } from '../upstream/classify.js';
import type { Upstream } from '../upstream/types.js';
import type { PauseReason } from './control-state.js';

/**
 * Throughput pacing. `takeKey` charges one message if the key conforms at `ratePerSec` with bucket
 * `burst` and returns 0, else returns the ms until it would conform and charges nothing.
 * The WASM core's `gcra` satisfies it structurally. Keys are hashed once (CoreKey): a lane keeps
 * its own for its lifetime, a job its pair key for its stay in the lane.
 */
export interface Pacer {
  takeKey(key: CoreKey, ratePerSec: number, burst: number, nowMs: number): number;
  /** Same answer as `takeKey` without charging: ms until a message would conform. */
  checkKey(key: CoreKey, ratePerSec: number, burst: number, nowMs: number): number;
}

export interface NumberInfo {
  tenantId: string;
  accessToken: string;
  /** Configured sustained messages per second. */
  mps: number;
  burst: number;
  /**
   * Pair rate (number × recipient, cloud-api.md §3): at most one message per `intervalMs` to the
   * same recipient, with a bucket of `burst`. Excess is delayed for that recipient only.
   * Absent: no pair pacing (the upstream's 131056 still parks the recipient).
   */
  pair?: { intervalMs: number; burst: number };
}

/** Warm-up caps of a young number (the policy engine's `warmupCapsOf` satisfies it). */
export interface WarmupCapsSource {
  capsOf(phoneNumberId: string, nowMs: number): { windowMs: number; limit: number } | null;
}

/**
 * Sliding-window counter: `take` counts one and returns 0, or returns the ms until a slot frees
 * and counts nothing. The WASM core's `window` satisfies it.
 */
export interface WindowCounter {
  takeKey(key: CoreKey, windowMs: number, limit: number, nowMs: number): number;
  countKey(key: CoreKey, windowMs: number, nowMs: number): number;
}

/** Any phoneNumberId → NumberInfo lookup; a Map satisfies it. Read at every decision, so live config changes apply. */
export interface NumberLookup {
  get(phoneNumberId: string): NumberInfo | undefined;
  values(): Iterable<NumberInfo>;
}

/** The subset of pino's logger the dispatcher uses. */
export interface DispatchLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Distributed mode: this process's seat in the fleet (src/fleet/ownership.ts). The dispatcher sends
 * only through numbers whose lease it holds, and only while the lease is safely valid.
 */
export interface FleetSeat {
  /** The lease on the number is held (its lane pages and counts what other processes store). */
  holds(phoneNumberId: string): boolean;
  /** Held and renewed recently enough that it cannot have lapsed: messages may leave now. */
  mayDispatch(phoneNumberId: string): boolean;
  /** What the `sending` commit is checked against; undefined when the lease is not held or not safely valid. */
  fence(phoneNumberId: string): Fence | undefined;
  /**
   * The lease's token while held, even when its renewal is late: a message taken back to `queued`
   * is fenced by it, so a process that lost the number without knowing it yet cannot requeue a
   * message the new owner is sending. Undefined once the lease is known lost.
   */
  heldFence(phoneNumberId: string): Fence | undefined;
  /** Recipients the number sent to lately (any process): the new owner holds them for their pair interval. */
  recentDepartures(phoneNumberId: string, sinceMs: number): Promise<Array<{ to: string; atMs: number }>>;
}

/** Another process stored a message for a number (the store's wake notice). */
export interface StoredNotice {
  phoneNumberId: string;
  tenantId: string;
  priority: Priority;
  notBeforeMs: number;
}

export interface DispatcherDeps {
  /**
   * Every state change goes through `transition`. With `queuePage` and `queueCounts` the store is
   * the queue: lanes hold a window and page the rest (paging.ts); without them (tests, benchmarks
   * handing records over) a lane keeps every message it is given.
   */
  store: Pick<Store, 'transition'> & Partial<Pick<Store, 'queuePage' | 'queueCounts' | 'departuresSince'>>;
  /** Messages per priority a lane holds in memory at most before the store keeps the rest (default 256). */
  windowPerPriority?: number;
  upstream: Pick<Upstream, 'send'>;
  pacer: Pacer;
  clock: Clock;
  /**
   * `upstream.maxInFlight` bounds the global send gate (lowered to what the heap holds at
   * `maxBodyBytes` bodies) when `maxInFlightTotal` is not given; see capacity.ts.
   */
  config: { dispatch: Config['dispatch']; upstream?: Pick<Config['upstream'], 'maxInFlight'>; maxBodyBytes?: number };
  numbers: NumberLookup;
  log: DispatchLog;
  /** Warm-up caps per number; with `window`, a young number never sends more than its cap in any window. */
  warmup?: WarmupCapsSource;
  /** Counts a warming-up number's departures (its own keys, apart from any admission counting). */
  window?: WindowCounter;
  /** How long a number answered 131057 (maintenance) stays paused before a probe. Default 60 s. */
  maintenancePauseMs?: number;
  /**
   * Fixed bound of concurrent upstream requests per number, replacing the Little's-law sizing
   * (capacity.ts: bucket + rate × observed p99 latency, within config.dispatch.maxInFlightPerNumber).
   */
  maxInFlightPerNumber?: number;
  /**
   * Upper bound of concurrent upstream requests over all numbers. Pacing decides only when a
   * request can leave at once, so it must not exceed what the upstream pool runs without queueing.
   * Default: config.upstream.maxInFlight bounded by memory (capacity.ts), else 8192.
   */
  maxInFlightTotal?: number;
  /** Where pauses, limit overrides and learned rates are kept across restarts (control-state.ts). Absent: memory only. */
  control?: Pick<ControlStateStore, 'putControl'> & Partial<Pick<ControlStateStore, 'controlEntries'>>;
  /** Distributed mode: the numbers this process may dispatch. Absent: every number (one process). */
  fleet?: FleetSeat;
  /**
   * Templates and broadcast messages (`template` false: a free-form one) are checked again right
   * before their `sending` commit (the policy engine's departureRefusal for templates, a cancelled
   * broadcast for both): the refusal to end them `rejected` with, or null to send.
   */
  refuseAtDeparture?: (rec: MessageRecord, nowMs: number, template: boolean) => RecordedError | null;
  /**
   * Distributed mode: what the synchronous check cannot know alone (the shared messaging limit, a
   * broadcast cancelled by another process), asked right before the `sending` commit of the same
   * messages: the refusal to end it `rejected` with, or null.
   */
  confirmAtDeparture?: (rec: MessageRecord, nowMs: number, template: boolean) => Promise<RecordedError | null>;
  /** How long a lane with a ready message waited for a free upstream slot (ms); a metric. */
  onSlotWait?: (waitedMs: number) => void;
  /** How often a paused lane's waiting messages are checked against their deadlines. Default 60 s. */
  pausedSweepMs?: number;
  /** Uniform [0, 1) for retry jitter; injectable so tests are deterministic. */
  random?: () => number;
  /** Called for every upstream answer and every final state (metrics: sends by outcome, dispatch latency). */
  onEvent?: (event: DispatchEvent) => void;
}

/** What `waitForOutcome` resolves with: the final state of the message and the upstream's answer if any. */
export interface Outcome {
  id: string;
  state: Extract<MessageState, 'sent' | 'failed' | 'expired' | 'rejected'>;
  /** HTTP status of the last upstream answer; 0 when none (expired, network error). */
  status: number;
  /** The last upstream response body, verbatim ('' when none). */
  bodyText: string;
  wamid: string | null;
  error: RecordedError | null;
}

export type DispatchEvent =
  | {
      type: 'attempt';
      id: string;
      tenantId: string;
      phoneNumberId: string;
      /** 'ok' | 'error' | 'network' */
      outcome: 'ok' | 'error' | 'network';
      /** Graph error code, 0 for ok, -1 when none. */
      code: number;
      reaction: Reaction;
      /** Request → answer. */
      upstreamMs: number;
      /** Recipient digits ('' for mark-as-read): what the answer says about them is learned at once. */
      to: string;
      /** The answer's `contacts[0].wa_id` when it differs from `to` (Brazil's ninth digit, Mexico's 521). */
      waId?: string;
    }
  | {
      type: 'final';
      id: string;
      tenantId: string;
      phoneNumberId: string;
      state: Outcome['state'];
      /** Recipient digits ('' for mark-as-read): lets the listener give policy charges back without a store read. */
      to: string;
      /** The body is a template send. */
      template: boolean;
      /** Acceptance (createdAtMs) → final state. */
      latencyMs: number;
    };

/** Memory the lanes use: ids held (waiting in memory or in flight) and each lane's window. */
export interface MemoryView {
  known: number;
  lanes: Array<{ phoneNumberId: string; window: number; inStore: number }>;
}

export interface LimitsPatch {
  mps?: number;
  burst?: number;
  headroom?: number;
}

export interface LaneView {
  phoneNumberId: string;
  tenantId: string;
  /** Messages waiting (not in flight), including ones in retry backoff or held for a parked recipient. */
  depth: number;
  /** Age of the oldest waiting message (0 when none). */
  oldestAgeMs: number;
  /** Current pacing rate: configured mps × headroom, lowered after 130429 and recovering. */
  effectiveMps: number;
  configuredMps: number;
  burst: number;
  /** Paused by the API, an upstream answer, or a timed maintenance pause (131057). */
  paused: boolean;
  /** End of a timed maintenance pause (131057); 0 when none. */
  pausedUntilMs: number;
  /** Who paused the number until resumed (an operator, or an upstream code); null when not. */
  pause?: { by: PauseReason['by']; code?: number; atMs: number } | null;
  /** Who paused the number's whole tenant (an operator, or 190); null when not. */
  tenantPause?: { by: PauseReason['by']; code?: number; atMs: number } | null;
  inFlight: number;
  /** Recipients currently parked (131056 backoff or 131049 deferral). */
  parkedRecipients: number;
  /** Slots the lane may hold now (Little's law over its rate and latency, capacity.ts). */
  inFlightLimit: number;
  /** Upstream answer time of this number lately (decaying histogram), ms; NaN before any answer. */
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** The dispatcher as a whole: is the gateway itself the bottleneck? */
export interface CapacityView {
  /** Upstream slots held (commits, prepared, requests). */
  inFlight: number;
  /** The global bound (config.upstream.maxInFlight within memory). */
  capacity: number;
  /** Sum of the slots the lanes with work would use now (their Little's-law bounds). */
  demand: number;
  /** Lanes with a ready message waiting for a slot. */
  blockedLanes: number;
  /** Upstream answer time over all numbers lately, ms; NaN before any answer. */
  latencyP99Ms: number;
}

export interface Dispatcher {
  /** Hands over a message that is durably queued. Ignored if not `queued` or already known. */
  submit(record: MessageRecord): void;
  /** Boot, before `recover`: stored pauses, overrides and learned rates (control-state.ts). */
  restore(entries: readonly ControlEntry[]): void;
  /** Distributed mode (dispatch/fleet.ts): leases taken: the numbers' lanes start from the store. */
  adopt(numbers: ReadonlyArray<{ phoneNumberId: string; tenantId: string }>): Promise<void>;
  /** Distributed mode: the lease is gone or handed over; resolves once its requests in flight are answered. */
  retire(phoneNumberId: string): Promise<void>;
  /** Distributed mode: another process stored a message for a number (paged in if this one owns it). */
  stored(notice: StoredNotice): void;
  /** Distributed mode: leases renewed: the owned lanes run again; `reread`: their queues are read again from the start (lost notices). */
  resync(reread: boolean): void;
  /** Distributed mode: another process changed a control entry (`null`: deleted). */
  controlChanged(key: string, value: unknown): void;
  /**
   * Boot: without records, learns from the store how many messages each number has and pages them
   * (nothing of the backlog is loaded). With records (tests, tools), takes exactly those. Either way
   * a `sending` one is sent again (at-least-once).
   */
  recover(records?: MessageRecord[]): Promise<void>;
  /** Waiting messages of a number (its lane's depth): the queue caps read it. */
  queued(phoneNumberId: string): number;
  /** What the lanes hold in memory. */
  memory(): MemoryView;
  /** Expected ms before a message submitted now would leave (depth / effective rate); Infinity when paused. */
  estimateWaitMs(phoneNumberId: string, ahead?: { priority?: 0 | 1; to?: string }): number;
  /** Resolves with the final outcome, or null if none within `timeoutMs`. */
  waitForOutcome(id: string, timeoutMs: number): Promise<Outcome | null>;
  setLimits(phoneNumberId: string, patch: LimitsPatch): void;
  pause(phoneNumberId: string): void;
  /** Ends a pause by `pause`, by an upstream answer, or a maintenance pause (131057). */
  resume(phoneNumberId: string): void;
  /** `by: 'meta'` when a Meta account restriction pauses it (default: an operator). */
  pauseTenant(tenantId: string, by?: 'operator' | 'meta'): void;
  resumeTenant(tenantId: string): void;
  /** A number of the tenant got a new Meta token: ends the tenant's pause if a 190 caused it; true when it did. */
  resumeAfterNewToken(tenantId: string): boolean;
  snapshot(): LaneView[];
  capacity(): CapacityView;
  /** Stops taking new sends, waits for in-flight ones; the rest stays queued in the store. */
  close(): Promise<void>;
}
