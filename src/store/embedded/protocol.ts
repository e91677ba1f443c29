/**
 * Messages between the gateway's thread and the store's worker thread (see threaded-store.ts).
 * Each side batches what it has to say within one turn of its event loop into one postMessage.
 */
import type { EndedQuery, RequeueChange } from '../ended.js';
import type { MessageRecord, NewMessage, QueuePageQuery, Transition } from '../types.js';

export type StoreCall =
  | { op: 'enqueue'; args: [NewMessage] }
  | { op: 'transition'; args: [string, Transition] }
  | { op: 'get'; args: [string, string] }
  | { op: 'findByWamid'; args: [string] }
  | { op: 'findByIdempotencyKey'; args: [string, string] }
  | { op: 'unfinished'; args: [] }
  | { op: 'queueCounts'; args: [] }
  | { op: 'queuePage'; args: [QueuePageQuery] }
  | { op: 'departuresSince'; args: [number] }
  | { op: 'owedEndings'; args: [string, number, number] }
  | { op: 'endingSettled'; args: [string, string] }
  | { op: 'controlEntries'; args: [] }
  | { op: 'putControl'; args: [string, unknown] }
  | { op: 'listEnded'; args: [EndedQuery] }
  | { op: 'requeue'; args: [string, RequeueChange] }
  | { op: 'close'; args: [] };

/** A call with its id and the caller's clock reading (the worker has no clock of its own). */
export type StoreRequest = StoreCall & { id: number; nowMs: number };

export interface StoreReply {
  id: number;
  ok: boolean;
  value?: unknown;
  /** On failure: the message only (stack traces stay in the worker). */
  error?: string;
}

/** Worker → gateway: replies of one turn, and the store's health after them. */
export interface ReplyBatch {
  replies: StoreReply[];
  healthy: boolean;
  /** Background failures since the last batch (the purge), for the gateway's log: what, and the message only. */
  problems?: Array<{ what: string; error: string }>;
}

/** Worker → gateway, once: opened, or why not. */
export type OpenResult = { opened: true } | { opened: false; error: string };

export interface WorkerInit {
  path: string;
  nowMs: number;
  /** EmbeddedOptions.finalRetentionMs (absent: its default). */
  finalRetentionMs?: number;
}

export type { MessageRecord };
