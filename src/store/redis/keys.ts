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
 *     <p>:{t:T}:lease:<num>   string the lease on dispatching the number: `<token> <owner>`, PX the
 *                                     lease TTL (src/fleet/ownership.ts). In the tenant's slot so the
 *                                     `sending` transition checks it atomically with the record.
 *     <p>:{t:T}:fence:<num>   string the number's fencing counter. No TTL: it must only grow
 *                                     (bounded by the configured numbers).
 *     <p>:{t:T}:dep:<num>     zset   the number's recent departures, recipient → ms: entries older
 *                                     than a pair window dropped at each `sending`, capped, PX a window.
 *     <p>:{t:T}:owed          zset   the tenant's unsent endings whose event is not yet in the
 *                                     outbox, id → ms (claimed: re-dated). Owner: message-ended.ts,
 *                                     which empties it as it pays.
 *     <p>:{t:T}:end:<num>:<state>  zset  the number's failed (or expired) messages for operators, score 0,
 *                                     member `<inverted updatedAtMs>:<inverted seq>:<id>` (src/store/ended.ts):
 *                                     added by the transition into that state, removed by a requeue;
 *                                     members older than the final retention trimmed at each add, PX it.
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
 *                  <p>:{g}:members       zset   fleet members → expiry (Redis's clock); pruned at
 *                                               each heartbeat, PX ten heartbeat TTLs.
 *   <p>:wake       pub/sub channel: `<origin>\n<tenant>\n<number>\n<priority>\n<notBeforeMs>`
 *                  published by the enqueue script, so a number's owner pages in what another
 *                  process stored.
 *   <p>:control    pub/sub channel: `<origin>\n<control key>` after putControl, so every process
 *                  of a fleet applies pauses and overrides an operator set through any of them.
 *
 *   Webhooks (src/webhooks/redis.ts; one block of methods at the end of RedisKeys):
 *   {t:<tenant>}   the tenant's outbox of tenant webhooks, in the tenant's slot (each outbox script
 *                  touches one tenant):
 *     <p>:{t:T}:wo:seq        string the tenant's outbox counter: seqs in commit order, no gaps. No
 *                                     TTL (bounded by tenants).
 *     <p>:{t:T}:wo:e:<seq>    hash   an entry (i event id, k order key, b body, c createdAtMs, a
 *                                     attempts, n nextAttemptAtMs, e last error). Owner while
 *                                     pending: its settle (delivered deletes it); dead: the dead TTL.
 *     <p>:{t:T}:wo:pending    zset   the tenant's pending seqs (score = member = seq). Owner: settle.
 *     <p>:{t:T}:wo:k:<key>    zset   the pending seqs of one order key (a lane's top-up). Owner: settle.
 *     <p>:{t:T}:wo:dead       zset   the dead seqs, capped per tenant (oldest dropped with their
 *                                     entries), PX the dead TTL renewed at each death.
 *     <p>:{t:T}:wo:id:<evt>   string seq of the entry holding an event id (dedupe of appends).
 *                                     Owner while pending: its settle; dead: the dead TTL.
 *     <p>:{t:T}:wo:lease      string the delivery lease of the tenant's outbox `<token> <owner>`,
 *                                     PX the lease TTL: one process of a fleet delivers a tenant.
 *     <p>:{t:T}:wo:fence      string the delivery lease's fencing counter. No TTL: it only grows
 *                                     (bounded by tenants).
 *     <p>:{t:T}:wo:wa:<id>    string a send answered with Meta's wamid (`Prefer: wait`), for a tenant
 *                                     taking Meta's format (tenant/wamid-answers.ts); PX 30 days.
 *   {wo}           <p>:{wo}:tenants      set    tenants that ever had an outbox entry: summary() at
 *                                               start and the fleet's discovery of undelivered
 *                                               tenants. Bounded by tenants (added once per process).
 *   {wu}           Meta statuses waiting for their wamid (rare: one slot for all of them):
 *                  <p>:{wu}:rows         hash   `<wamid>:<status>` → `<receivedAtMs> <tries> <event JSON>`
 *                  <p>:{wu}:due          zset   key → next look-up ms
 *                  <p>:{wu}:age          zset   key → receivedAtMs (the cap drops the oldest)
 *                  <p>:{wu}:wamids       zset   keys at score 0 (a lexical range finds one wamid's)
 *                                        All four capped by count and PX the parking TTL, renewed
 *                                        at each park.
 *   {ms:<key>}     <p>:{ms:<key>}        string a Meta webhook dedupe mark: the ms it was marked;
 *                                        PX the marks' retention (spread over the Cluster).
 *   What each webhook call touches: append  SADD {wo}:tenants (first time per tenant per process),
 *   then outbox-append-4.lua on {t:T}; pending / pendingOfKey  outbox-page-1.lua; settle
 *   outbox-settle-3.lua; requeueDead  outbox-requeue-3.lua (each on {t:T}); summary  SMEMBERS
 *   {wo}:tenants, ZCARD per tenant; the delivery gate  lease-*.lua on {t:T}, GET {t:T}:wo:seq every
 *   250 ms per held tenant; parked statuses  unmatched-*.lua on {wu}; marks  GET / SET PX per key.
 *
 *   Policy state (src/policy/redis-store.ts, redis-budgets.ts; one block of methods at the end of
 *   RedisKeys). All in the tenant's slot {t:T}: the budget script and a recipient's read (consent,
 *   window, deferral) each touch one slot; a number belongs to one tenant, so its windows live in
 *   that tenant's slot. Times in members and scores are the caller's clock.
 *     <p>:{t:T}:pc            hash   current consent: recipient → `status \n source \n atMs`. No TTL:
 *                                     the legal record (as the SQLite consent table); owner: the
 *                                     consent script overwrites. Bounded by recipients with consent.
 *     <p>:{t:T}:po            set    recipients whose current consent is opt_out (each process loads
 *                                     it at boot into its opt-out view). Owner: the consent script.
 *     <p>:{t:T}:pl:<rcpt>     list   a recipient's consent audit log, newest first,
 *                                     `status \n source \n atMs \n recordedMs`; trimmed to the newest
 *                                     100; TTL 400 days, renewed at each record.
 *     <p>:{t:T}:pw            zset   service windows: member `<number> \n <user>`, score the user's last
 *                                     inbound ms; entries older than 24 h trimmed at each open; TTL 24 h
 *                                     after the latest open.
 *     <p>:{t:T}:pd            hash   deferrals: recipient → `undeliverableUntilMs \n marketingUntilMs`.
 *     <p>:{t:T}:pde           zset   the same recipients, score the later end: ended ones leave both
 *                                     keys at each change; both keys PX the latest end.
 *     <p>:{t:T}:pf            hash   warm-up age origin: number → first send ms (HSETNX). No TTL:
 *                                     bounded by the tenant's numbers.
 *     <p>:{t:T}:pbc           string the latest clock the tenant's budget scripts have seen (time never
 *                                     runs backwards, as in the core). PX 25 h.
 *     <p>:{t:T}:pur           hash   messaging-limit ring (one-minute buckets): `h` head, `w` window,
 *                                     `t` total, `<slot>` counts. PX 25 h after each change.
 *     <p>:{t:T}:pum           zset   recipients counted → ms their charge leaves the window; left ones
 *                                     removed at each call. PX 25 h.
 *     <p>:{t:T}:puh           hash   recipient → processes holding its slot (give-back); leaves with
 *                                     the recipient. PX 25 h.
 *     <p>:{t:T}:prr:<fp>      hash   repeated-content ring of one fingerprint (fp: xxh64 hex of it).
 *                                     PX its window + 1 s after each change.
 *     <p>:{t:T}:prm:<fp>      zset   that fingerprint's recipients → ms they leave. PX as its ring.
 *   <p>:policy     pub/sub channel of policy changes (consent, deferrals, windows, first sends), so a
 *                  number's owner honours them at departure without a read.
 *
 *   Broadcasts (src/broadcasts/redis-store.ts; one block of methods at the end of RedisKeys). A
 *   broadcast's keys are in its tenant's slot, so each chunk's commit, each message end and each
 *   change of state is one script (broadcast-*.lua):
 *     <p>:{t:T}:b:<id>        hash   the broadcast: `rec` (what never changes, JSON), state, cursor,
 *                                     waiting, ended, rest (what unadmitted recipients ended as) and
 *                                     one count per recipient status. While `creating`: PX a minute,
 *                                     renewed per chunk of recipients (a crashed create goes by
 *                                     itself); then no TTL: retention purges it (owner: purgeEnded).
 *     <p>:{t:T}:b:<id>:r      hash   its sendable recipients, idx → JSON [to, toInput, components];
 *                                     unlinked once it completed, or ended with nothing queued (it leaves `active`).
 *     <p>:{t:T}:b:<id>:s      hash   admitted recipients' status, idx → `<code>[ <message id>]`
 *                                     (absent: pending, or the record's `rest` once it ended).
 *     <p>:{t:T}:b:<id>:q      zset   admitted recipients whose message has not ended, id → idx.
 *     <p>:{t:T}:bm            hash   message id → `<broadcast id> <idx>` while that message is queued
 *                                     (a message's end finds its recipient). Bounded by queued messages.
 *     <p>:{t:T}:bk:<key>      string an Idempotency-Key's broadcast id; TTLs and owner as the record.
 *     <p>:{t:T}:bu:<id>       list   an upload's rows (JSON [toInput, components]); PX 48 h.
 *     <p>:{t:T}:bu:<id>:n     string a finished upload's row count; PX 48 h.
 *   {bc}           <p>:{bc}:index        zset   every stored broadcast, score 0, member `<id> <tenant>`
 *                                               (ids sort by creation: the admin list's order).
 *                  <p>:{bc}:active       set    `<id> <tenant>` of broadcasts not yet ended or still
 *                                               draining. Both written once the create script stored
 *                                               the record; verified on read (a member without its
 *                                               record goes).
 *
 *   Tenant catalog (src/gateway/catalog/redis-backend.ts): runtime tenants and API keys, one slot
 *   {tc} so a change is one script (catalog-commit-5.lua). No TTLs: bounded by tenants and keys.
 *     <p>:{tc}:tenants        hash   tenant id → StoredTenant JSON (numbers with their Meta tokens)
 *     <p>:{tc}:gone           hash   tenant id → ms it was deleted through the admin API
 *     <p>:{tc}:keys           hash   key id → StoredKey JSON (a SHA-256 digest, never the key)
 *     <p>:{tc}:revoked        hash   key digest → ms it was revoked
 *     <p>:{tc}:version        string the catalog's version, +1 per change
 *     <p>:{tc}:applied        hash   fleet member → the version it runs on (a change waits for the
 *                                     live members); entries of members gone are removed then.
 *   <p>:tenants    pub/sub channel: `<origin>\n<version>` after each change.
 *
 * What each call touches (one slot per script; plain commands on other slots come before the
 * script and are verified when read, so a crash between them leaves nothing inconsistent):
 *   enqueue        SET {i:id} and HSET {g}:numbers (first time per number per process), then
 *                  enqueue-4.lua on {t:T}: record + idempotency key + queue entry, atomically.
 *   transition     GET {i:id} (cached in process), [sent: SET {w:wamid}], transition-5.lua on
 *                  {t:T}: record + queue (+ the ended list), then PEXPIRE {i:id} when final.
 *   requeue        GET {i:id}, PEXPIRE {i:id}, requeue-4.lua on {t:T}.
 *   listEnded      HGETALL {g}:numbers, ZRANGEBYLEX per listed number, HGETALL per record.
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

  /** The lease on dispatching a number (fleet/ownership.ts): `<token> <owner>`, PX the lease TTL. */
  numberLease(tenantId: string, phoneNumberId: string): string {
    return `${this.tenant(tenantId)}:lease:${phoneNumberId}`;
  }

  /** The number's fencing counter: only grows, so it has no TTL (bounded by the configured numbers). */
  numberFence(tenantId: string, phoneNumberId: string): string {
    return `${this.tenant(tenantId)}:fence:${phoneNumberId}`;
  }

  /** The number's recent departures (zset recipient → ms), kept one pair window, capped. */
  departures(tenantId: string, phoneNumberId: string): string {
    return `${this.tenant(tenantId)}:dep:${phoneNumberId}`;
  }

  /** The tenant's unsent endings whose event is not yet in the outbox (zset id → ms); emptied as paid. */
  owedEndings(tenantId: string): string {
    return `${this.tenant(tenantId)}:owed`;
  }

  /** A number's failed or expired messages, listed for operators (src/store/ended.ts). */
  ended(tenantId: string, phoneNumberId: string, state: 'failed' | 'expired'): string {
    return `${this.tenant(tenantId)}:end:${phoneNumberId}:${state}`;
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

  /** The fleet's live members (zset process id → expiry on Redis's clock); expired ones are pruned at each heartbeat. */
  members(): string {
    return `${this.global}:members`;
  }

  /** Pub/sub channel: a message was stored for a number (its owner pages it in). */
  wakeChannel(): string {
    return `${this.prefix}:wake`;
  }

  /** Pub/sub channel: a control entry changed (`<origin>\n<key>`); every process applies it. */
  controlChannel(): string {
    return `${this.prefix}:control`;
  }

  // ---- Webhooks (src/webhooks/redis.ts): the tenant outbox, its delivery lease, Meta dedupe marks
  // and unmatched statuses. Types, TTLs and owners: the header comment.

  /** Prefix of a tenant's outbox keys. */
  private outbox(tenantId: string): string {
    return `${this.tenant(tenantId)}:wo:`;
  }

  outboxSequence(tenantId: string): string {
    return `${this.outbox(tenantId)}seq`;
  }

  /** Prefix of a tenant's outbox entry hashes; scripts append the seq. */
  outboxEntryPrefix(tenantId: string): string {
    return `${this.outbox(tenantId)}e:`;
  }

  outboxEntry(tenantId: string, seq: number): string {
    return this.outboxEntryPrefix(tenantId) + String(seq);
  }

  outboxPending(tenantId: string): string {
    return `${this.outbox(tenantId)}pending`;
  }

  /** Prefix of a tenant's per-order-key pending zsets; scripts append the order key. */
  outboxOrderKeyPrefix(tenantId: string): string {
    return `${this.outbox(tenantId)}k:`;
  }

  outboxOrderKey(tenantId: string, orderKey: string): string {
    return this.outboxOrderKeyPrefix(tenantId) + orderKey;
  }

  outboxDead(tenantId: string): string {
    return `${this.outbox(tenantId)}dead`;
  }

  /** Prefix of a tenant's event id keys; scripts append the event id. */
  outboxEventIdPrefix(tenantId: string): string {
    return `${this.outbox(tenantId)}id:`;
  }

  outboxEventId(tenantId: string, eventId: string): string {
    return this.outboxEventIdPrefix(tenantId) + eventId;
  }

  outboxLease(tenantId: string): string {
    return `${this.outbox(tenantId)}lease`;
  }

  outboxFence(tenantId: string): string {
    return `${this.outbox(tenantId)}fence`;
  }

  wamidAnswer(tenantId: string, gatewayId: string): string {
    return `${this.outbox(tenantId)}wa:${gatewayId}`;
  }

  outboxTenants(): string {
    return `${this.prefix}:{wo}:tenants`;
  }

  unmatchedRows(): string {
    return `${this.prefix}:{wu}:rows`;
  }

  unmatchedDue(): string {
    return `${this.prefix}:{wu}:due`;
  }

  unmatchedAge(): string {
    return `${this.prefix}:{wu}:age`;
  }

  unmatchedWamids(): string {
    return `${this.prefix}:{wu}:wamids`;
  }

  seenMark(key: string): string {
    return `${this.prefix}:{ms:${tagSafe(key)}}`;
  }

  // ---- Policy state (header above: types, TTLs, owners). All in the tenant's slot. ----

  policyConsent(tenantId: string): string {
    return `${this.tenant(tenantId)}:pc`;
  }

  policyOptedOut(tenantId: string): string {
    return `${this.tenant(tenantId)}:po`;
  }

  policyConsentLog(tenantId: string, recipient: string): string {
    return `${this.tenant(tenantId)}:pl:${recipient}`;
  }

  policyWindows(tenantId: string): string {
    return `${this.tenant(tenantId)}:pw`;
  }

  policyDeferrals(tenantId: string): string {
    return `${this.tenant(tenantId)}:pd`;
  }

  policyDeferralEnds(tenantId: string): string {
    return `${this.tenant(tenantId)}:pde`;
  }

  policyFirstSends(tenantId: string): string {
    return `${this.tenant(tenantId)}:pf`;
  }

  /** The budget script's tenant keys: clock, messaging-limit ring, its recipients, their holders. */
  policyBudget(tenantId: string): { clock: string; tierRing: string; tierMembers: string; tierHolders: string } {
    const t = this.tenant(tenantId);
    return { clock: `${t}:pbc`, tierRing: `${t}:pur`, tierMembers: `${t}:pum`, tierHolders: `${t}:puh` };
  }

  /** A repeated-content ring and its recipients; `fingerprintHash` is hex. */
  policyRepeat(tenantId: string, fingerprintHash: string): { ring: string; members: string } {
    const t = this.tenant(tenantId);
    return { ring: `${t}:prr:${fingerprintHash}`, members: `${t}:prm:${fingerprintHash}` };
  }

  /** Pub/sub channel of policy changes (a channel, not a key: no slot). */
  policyChanges(): string {
    return `${this.prefix}:policy`;
  }

  // ---- Tenant catalog (header above). One slot {tc}. ----

  catalogTable(table: 'tenants' | 'gone' | 'keys' | 'revoked'): string {
    return `${this.prefix}:{tc}:${table}`;
  }

  catalogVersion(): string {
    return `${this.prefix}:{tc}:version`;
  }

  catalogApplied(): string {
    return `${this.prefix}:{tc}:applied`;
  }

  /** Pub/sub channel of catalog changes (a channel, not a key: no slot). */
  catalogChannel(): string {
    return `${this.prefix}:tenants`;
  }

  // ---- Broadcasts (header above). A broadcast's keys in its tenant's slot; the two lists in {bc}. ----

  broadcast(tenantId: string, id: string): string {
    return `${this.tenant(tenantId)}:b:${id}`;
  }

  broadcastRecipients(tenantId: string, id: string): string {
    return `${this.broadcast(tenantId, id)}:r`;
  }

  broadcastStatuses(tenantId: string, id: string): string {
    return `${this.broadcast(tenantId, id)}:s`;
  }

  broadcastQueued(tenantId: string, id: string): string {
    return `${this.broadcast(tenantId, id)}:q`;
  }

  broadcastMessages(tenantId: string): string {
    return `${this.tenant(tenantId)}:bm`;
  }

  broadcastKey(tenantId: string, key: string): string {
    return `${this.tenant(tenantId)}:bk:${key}`;
  }

  broadcastUpload(tenantId: string, uploadId: string): string {
    return `${this.tenant(tenantId)}:bu:${uploadId}`;
  }

  broadcastUploadCount(tenantId: string, uploadId: string): string {
    return `${this.broadcastUpload(tenantId, uploadId)}:n`;
  }

  broadcastIndex(): string {
    return `${this.prefix}:{bc}:index`;
  }

  broadcastActive(): string {
    return `${this.prefix}:{bc}:active`;
  }
}
