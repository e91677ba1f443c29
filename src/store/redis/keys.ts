/**
 * Every Redis key of the message store, built here and nowhere else (the Lua scripts receive
 * keys, or a key prefix built here, through KEYS and ARGV).
 *
 * Cluster slots: a hash tag `{...}` picks the slot, so every key a script touches carries the same
 * tag and no script ever answers CROSSSLOT.
 *
 *   {t:<tenant>}   the tenant's slot. Everything one message needs in one atomic script:
 *     <p>:{t:T}:m:<id>        hash   the record (fields: record-codec.ts). TTL: none while queued
 *                                     or sending (owner: the transition that finalises it), then
 *                                     the final-record retention, renewed at each later status.
 *     <p>:{t:T}:k:<key>       hash   an idempotency key: message id, body hash, logical time of
 *                                     use. TTL 48 h (the scripts also compare that time with the
 *                                     caller's clock, so an injected clock sees the same 48 h).
 *     <p>:{t:T}:q:<num>:<pr>  zset   a number's unfinished messages of one priority, in service
 *                                     order: score notBeforeMs, member `<seq, 16 digits>:<id>`
 *                                     (equal scores sort by member: arrival order). Owner: entries
 *                                     leave when their message becomes final; an empty zset is gone.
 *     <p>:{t:T}:seq           string the tenant's arrival counter (one per tenant; bounded by tenants).
 *   A number's queue lives in its tenant's slot, not a slot of its own: an idempotency key is scoped
 *   to the tenant and may be reused on any of its numbers, and enqueue must check it, store the
 *   record and queue it atomically. A number belongs to one tenant (config/load.ts refuses a
 *   number claimed twice). A tenant's traffic therefore lands on one Cluster node; tenants spread.
 *
 *   {i:<id>}       <p>:{i:<id>}          string `tenant \n number \n priority` of a message, so a
 *                  lookup by id alone (transition) finds the tenant's slot and the queue key. Written
 *                  before the enqueue script (an orphan left by a duplicate or a failed enqueue is
 *                  harmless: lookups verify the record exists). TTL: the message's deadline plus the
 *                  final retention plus a day, renewed to retention plus a day whenever the record is
 *                  finalised or gets a status.
 *   {w:<wamid>}    <p>:{w:<wamid>}       string `tenant \n id`, written before the `sent` script
 *                  (verified on read: the record must carry that wamid). TTL: retention plus a day,
 *                  renewed with the id index.
 *   {g}            <p>:{g}:numbers       hash   number → tenant: the numbers that ever had a queue,
 *                                               for queueCounts() at boot. Bounded by configured numbers.
 *                  <p>:{g}:control       hash   control-state key → `{"v":value,"at":ms}`.
 *                                               Owner: putControl(key, null) deletes an entry.
 *
 * What each call touches (one slot per script; plain commands on other slots come before the
 * script and are verified when read, so a crash between them leaves nothing inconsistent):
 *   enqueue        SET {i:id} and HSET {g}:numbers (first time per number per process), then
 *                  enqueue-4.lua on {t:T}: record + idempotency key + queue entry, atomically.
 *   transition     GET {i:id} (cached in process), [sent: SET {w:wamid}], transition-2.lua on
 *                  {t:T}: record + queue, then PEXPIRE {i:id} when final.
 *   queuePage      HGET {g}:numbers, queue-page-1.lua on {t:T}: queue + records.
 *   findByIdempotencyKey  idempotent-1.lua on {t:T}.   get  HGETALL on {t:T}.
 *   findByWamid    GET {w:wamid}, HGETALL on {t:T}.    queueCounts  HGETALL {g}, ZCARD per queue.
 *   controlEntries / putControl  {g}:control.
 * With `durability: { replicas }` each group above goes as one pipeline plus a WAIT to its node.
 */
import type { Priority } from '../types.js';

/** Hash-tag contents are user-supplied ids: braces inside would move the tag, so they are escaped. */
function tagSafe(part: string): string {
  return part.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
}

export class RedisKeys {
  private readonly global: string;

  /** `prefix` separates deployments (and tests) sharing one Redis; it never holds braces. */
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix must not contain braces: ${prefix}`);
    this.global = `${prefix}:{g}`;
  }

  /** The tag every key of one tenant shares. */
  private tenant(tenantId: string): string {
    return `${this.prefix}:{t:${tagSafe(tenantId)}}`;
  }

  /** Prefix of a tenant's record keys; scripts append the message id. */
  recordPrefix(tenantId: string): string {
    return `${this.tenant(tenantId)}:m:`;
  }

  record(tenantId: string, id: string): string {
    return this.recordPrefix(tenantId) + id;
  }

  idempotency(tenantId: string, key: string): string {
    return `${this.tenant(tenantId)}:k:${key}`;
  }

  queue(tenantId: string, phoneNumberId: string, priority: Priority): string {
    return `${this.tenant(tenantId)}:q:${phoneNumberId}:${priority}`;
  }

  sequence(tenantId: string): string {
    return `${this.tenant(tenantId)}:seq`;
  }

  messageIndex(id: string): string {
    return `${this.prefix}:{i:${tagSafe(id)}}`;
  }

  wamidIndex(wamid: string): string {
    return `${this.prefix}:{w:${tagSafe(wamid)}}`;
  }

  numbers(): string {
    return `${this.global}:numbers`;
  }

  control(): string {
    return `${this.global}:control`;
  }
}
