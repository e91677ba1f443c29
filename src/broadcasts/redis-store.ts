/**
 * The BroadcastStore of a fleet (store.ts), on the message store's Redis: a broadcast's record,
 * recipients, statuses and queued messages in its tenant's slot (keys.ts, "Broadcasts"), each
 * chunk's commit, each batch of message ends and each change of state one script, so any process
 * may cancel a broadcast or record its messages' ends while its number's owner runs it.
 *
 * Memory: recipients are written and read a page at a time (HSET / HMGET by idx), never held.
 * The two lists in {bc} (every broadcast, the unfinished ones) are written once a create's record
 * exists, and verified when read: a member whose record is gone is removed.
 */
import type { ChainableCommander } from 'ioredis';
import type { Clock } from '../clock.js';
import type { RedisStore } from '../store/redis/redis-store.js';
import {
  batchesOf, emptyCounts, type AdmittedChunk, type BroadcastListQuery, type BroadcastStore, type MessageEnd, type QueuedRecipient, type Rows,
  type UploadRow,
} from './store.js';
import { STATUS_NAMES, type BroadcastPlan, type BroadcastRecord, type BroadcastState, type RecipientStatusName, type StoredRecipient } from './types.js';

/** A create's keys expire this long after its last chunk of recipients (a crashed create leaves nothing). */
const CREATING_TTL_MS = 60_000;
/** Recipients written per pipeline while a broadcast is created. */
const RECIPIENTS_PER_WRITE = 5_000;
/** Uploads wait this long for the create that names them. */
const UPLOAD_TTL_MS = 48 * 3_600_000;
/** Upload rows read per call. */
const UPLOAD_PAGE = 5_000;
/** Index members read per call (list, purge). */
const INDEX_PAGE = 200;
/** Queued message ids read per call when a broadcast is dropped. */
const QUEUED_PAGE = 1_000;

/** What never changes, kept as one JSON field. */
interface Fixed {
  id: string; tenantId: string; phoneNumberId: string; idempotencyKey: string | null; bodyHash: string | null; message: string;
  category: string; plan: BroadcastPlan; total: number; createdAtMs: number; notBeforeMs: number; deadlineAtMs: number;
}

/** HGETALL's flat reply (a script's) or object (the client's) as a record; null when it has none. */
function recordOf(reply: unknown): BroadcastRecord | null {
  let h: Record<string, string>;
  if (Array.isArray(reply)) {
    h = {};
    for (let i = 0; i + 1 < reply.length; i += 2) h[String(reply[i])] = String(reply[i + 1]);
  } else {
    h = (reply ?? {}) as Record<string, string>;
  }
  if (h.rec === undefined || h.state === undefined) return null;
  const f = JSON.parse(h.rec) as Fixed;
  const counts = emptyCounts();
  for (const name of STATUS_NAMES) counts[name] = Number(h[name] ?? 0);
  return {
    ...f, state: h.state as BroadcastState, cursor: Number(h.cursor ?? 0), counts, waitingForLimit: h.waiting === '1',
    endedAtMs: h.ended === undefined || h.ended === '' ? null : Number(h.ended),
  };
}

const member = (id: string, tenantId: string): string => `${id} ${tenantId}`;
const parseMember = (m: string): { id: string; tenantId: string } => {
  const space = m.indexOf(' ');
  return { id: m.slice(0, space), tenantId: m.slice(space + 1) };
};

export class RedisBroadcastStore implements BroadcastStore {
  private readonly client;
  private readonly keys;
  private readonly writes;

  constructor(store: Pick<RedisStore, 'client' | 'keys' | 'writes'>, private readonly clock: Clock) {
    this.client = store.client;
    this.keys = store.keys;
    this.writes = store.writes;
  }

  async create(record: BroadcastRecord, recipients: Rows<StoredRecipient>): Promise<BroadcastRecord> {
    const k = this.keys;
    const t = record.tenantId;
    const recordKey = k.broadcast(t, record.id);
    const keyKey = record.idempotencyKey === null ? recordKey : k.broadcastKey(t, record.idempotencyKey);
    const recipientsKey = k.broadcastRecipients(t, record.id);
    const fixed: Fixed = {
      id: record.id, tenantId: t, phoneNumberId: record.phoneNumberId, idempotencyKey: record.idempotencyKey, bodyHash: record.bodyHash,
      message: record.message, category: record.category, plan: record.plan, total: record.total, createdAtMs: record.createdAtMs,
      notBeforeMs: record.notBeforeMs, deadlineAtMs: record.deadlineAtMs,
    };
    const fields = ['rec', JSON.stringify(fixed), 'state', 'creating', 'cursor', String(record.cursor), 'waiting', '0', 'ended', '', 'rest', ''];
    for (const name of STATUS_NAMES) fields.push(name, String(record.counts[name]));
    const held = String(await this.writes.script('broadcast-create', [recordKey, keyKey, recipientsKey], [record.id, String(CREATING_TTL_MS), ...fields]));
    if (held !== '') return (await this.byKey(t, record.idempotencyKey!)) ?? this.placeholder(record, held);
    try {
      // Listed once the record exists (readers skip it while `creating`, and drop the entry once it
      // expired); never before, or a reader would drop the entry of a create about to begin.
      await this.writes.write((p) => {
        p.zadd(k.broadcastIndex(), 0, member(record.id, t));
        p.sadd(k.broadcastActive(), member(record.id, t));
      });
      for await (const batch of batchesOf(recipients, RECIPIENTS_PER_WRITE)) {
        const values: string[] = [];
        for (const r of batch) values.push(String(r.idx), JSON.stringify([r.to, r.toInput, r.components]));
        await this.writes.write((p) => {
          p.hset(recipientsKey, ...values);
          for (const key of new Set([recipientsKey, recordKey, keyKey])) p.pexpire(key, CREATING_TTL_MS);
        });
      }
      const done = await this.writes.script('broadcast-created', [recordKey, keyKey, recipientsKey], [record.state]);
      if (Number(done) !== 1) throw new Error(`broadcast ${record.id}: its create outlasted its ${CREATING_TTL_MS} ms TTL`);
    } catch (err) {
      await this.drop(record.id, t, record.idempotencyKey).catch(() => undefined);
      throw err;
    }
    return record;
  }

  /** The key's holder vanished between the script and the read (its create failed): a `creating` stand-in, retried by the caller. */
  private placeholder(record: BroadcastRecord, id: string): BroadcastRecord {
    return { ...record, id, state: 'creating' };
  }

  async dropCreating(): Promise<number> {
    return 0; // a create's keys expire by themselves (CREATING_TTL_MS); another process may be creating now
  }

  async purgeEnded(beforeMs: number): Promise<number> {
    let dropped = 0;
    for (let from = '-'; ;) {
      const members = await this.client.zrangebylex(this.keys.broadcastIndex(), from, '+', 'LIMIT', 0, INDEX_PAGE);
      if (members.length === 0) return dropped;
      const records = await this.read(members);
      for (let i = 0; i < members.length; i++) {
        const { id, tenantId } = parseMember(members[i]!);
        const r = records[i];
        if (r === undefined) continue; // still creating
        if (r === null) {
          await this.unlist(id, tenantId);
        } else if (r.endedAtMs !== null && r.endedAtMs < beforeMs) {
          await this.drop(id, tenantId, r.idempotencyKey);
          dropped++;
        }
      }
      if (dropped > 0 || members.length < INDEX_PAGE) return dropped;
      from = `(${members[members.length - 1]!}`;
    }
  }

  /** A broadcast's keys and its list entries go (its queued messages' entries too, a page at a time). */
  private async drop(id: string, tenantId: string, idempotencyKey: string | null): Promise<void> {
    const k = this.keys;
    // Nothing leaves the queued set before its unlink below: index pages stay in place.
    for (let from = 0; ; from += QUEUED_PAGE) {
      const queued = await this.client.zrange(k.broadcastQueued(tenantId, id), from, from + QUEUED_PAGE - 1);
      if (queued.length > 0) await this.client.hdel(k.broadcastMessages(tenantId), ...queued);
      if (queued.length < QUEUED_PAGE) break;
    }
    const p = this.client.pipeline();
    p.unlink(k.broadcast(tenantId, id), k.broadcastRecipients(tenantId, id), k.broadcastStatuses(tenantId, id), k.broadcastQueued(tenantId, id));
    if (idempotencyKey !== null) {
      // Only while it still names this broadcast.
      if ((await this.client.get(k.broadcastKey(tenantId, idempotencyKey))) === id) p.unlink(k.broadcastKey(tenantId, idempotencyKey));
    }
    await p.exec();
    await this.unlist(id, tenantId);
  }

  private async unlist(id: string, tenantId: string): Promise<void> {
    await Promise.all([this.client.zrem(this.keys.broadcastIndex(), member(id, tenantId)), this.client.srem(this.keys.broadcastActive(), member(id, tenantId))]);
  }

  /** The listed broadcasts' records: null when gone, undefined while still `creating`. */
  private async read(members: readonly string[]): Promise<Array<BroadcastRecord | null | undefined>> {
    const all = await Promise.all(members.map((m) => {
      const { id, tenantId } = parseMember(m);
      return this.client.hgetall(this.keys.broadcast(tenantId, id));
    }));
    return all.map((h) => (h.state === 'creating' ? undefined : recordOf(h)));
  }

  async get(tenantId: string, id: string): Promise<BroadcastRecord | null> {
    return recordOf(await this.client.hgetall(this.keys.broadcast(tenantId, id)));
  }

  async byKey(tenantId: string, key: string): Promise<BroadcastRecord | null> {
    const id = await this.client.get(this.keys.broadcastKey(tenantId, key));
    return id === null ? null : this.get(tenantId, id);
  }

  async active(): Promise<BroadcastRecord[]> {
    return (await this.unfinished(this.clock.nowMs())).filter((r) => r.state === 'scheduled' || r.state === 'running');
  }

  async draining(nowMs: number): Promise<BroadcastRecord[]> {
    return (await this.unfinished(nowMs)).filter((r) => r.state === 'cancelled');
  }

  /** The active list's records; those ended and drained (or past their deadline), or gone, leave it. */
  private async unfinished(nowMs: number): Promise<BroadcastRecord[]> {
    const members = await this.client.smembers(this.keys.broadcastActive());
    const records = await this.read(members);
    const out: BroadcastRecord[] = [];
    const done: string[] = [];
    records.forEach((r, i) => {
      if (r === undefined) return;
      const finished = r === null || r.state === 'completed' || (r.state === 'cancelled' && (r.counts.queued === 0 || r.deadlineAtMs <= nowMs));
      if (finished) done.push(members[i]!);
      else out.push(r);
    });
    if (done.length > 0) {
      // Its recipients' rows are read only while some are pending or queued (page, queuedOf): gone now, not at retention.
      await Promise.all([
        this.client.srem(this.keys.broadcastActive(), ...done),
        ...done.map((m) => {
          const { id, tenantId } = parseMember(m);
          return this.client.unlink(this.keys.broadcastRecipients(tenantId, id));
        }),
      ]);
    }
    return out;
  }

  async list(query: BroadcastListQuery): Promise<{ records: BroadcastRecord[]; next: string | null }> {
    const records: BroadcastRecord[] = [];
    let more = false;
    for (let from = query.before === undefined ? '+' : `(${query.before}`; !more;) {
      const members = await this.client.zrevrangebylex(this.keys.broadcastIndex(), from, '-', 'LIMIT', 0, INDEX_PAGE);
      const read = await this.read(members);
      for (const r of read) {
        if (r === null || r === undefined) continue;
        if ((query.state !== undefined && r.state !== query.state) || (query.tenantId !== undefined && r.tenantId !== query.tenantId)) continue;
        if (records.length === query.limit) {
          more = true;
          break;
        }
        records.push(r);
      }
      if (members.length < INDEX_PAGE) break;
      from = `(${members[members.length - 1]!}`;
    }
    return { records, next: more ? records[records.length - 1]!.id : null };
  }

  async page(tenantId: string, broadcastId: string, fromIdx: number, limit: number): Promise<StoredRecipient[]> {
    if (limit <= 0) return [];
    const fields: string[] = [];
    for (let i = 0; i < limit; i++) fields.push(String(fromIdx + i));
    const values = await this.client.hmget(this.keys.broadcastRecipients(tenantId, broadcastId), ...fields);
    const rows: StoredRecipient[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) break; // past the last one
      const [to, toInput, components] = JSON.parse(v) as [string, string, string | null];
      rows.push({ idx: fromIdx + i, to, toInput, components });
    }
    return rows;
  }

  async queuedOf(tenantId: string, broadcastId: string, afterIdx: number, limit: number): Promise<QueuedRecipient[]> {
    const flat = await this.client.zrangebyscore(this.keys.broadcastQueued(tenantId, broadcastId), `(${afterIdx}`, '+inf', 'WITHSCORES', 'LIMIT', 0, limit);
    if (flat.length === 0) return [];
    const idxs: string[] = [];
    for (let i = 1; i < flat.length; i += 2) idxs.push(flat[i]!);
    const rows = await this.client.hmget(this.keys.broadcastRecipients(tenantId, broadcastId), ...idxs);
    const out: QueuedRecipient[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const row = rows[i / 2];
      out.push({ idx: Number(flat[i + 1]), messageId: flat[i]!, to: row === null || row === undefined ? '' : (JSON.parse(row) as [string])[0] });
    }
    return out;
  }

  async commitChunk(chunk: AdmittedChunk, counts: Record<RecipientStatusName, number>, waiting: boolean): Promise<boolean> {
    const k = this.keys;
    const t = chunk.tenantId;
    const args = [chunk.broadcastId, String(chunk.cursor), waiting ? '1' : '0', String(chunk.queued.length)];
    for (const q of chunk.queued) args.push(String(q.idx), q.messageId);
    for (const idx of chunk.rejected) args.push(String(idx));
    const reply = await this.writes.script('broadcast-chunk', [
      k.broadcast(t, chunk.broadcastId), k.broadcastStatuses(t, chunk.broadcastId), k.broadcastQueued(t, chunk.broadcastId), k.broadcastMessages(t),
    ], args);
    const stored = recordOf(reply);
    if (stored === null) return false;
    Object.assign(counts, stored.counts);
    return true;
  }

  async endMessages(ends: readonly MessageEnd[], countsOf: (broadcastId: string) => Record<RecipientStatusName, number> | undefined): Promise<Set<string>> {
    const byTenant = new Map<string, MessageEnd[]>();
    for (const e of ends) {
      const list = byTenant.get(e.tenantId);
      if (list === undefined) byTenant.set(e.tenantId, [e]);
      else list.push(e);
    }
    const touched = new Set<string>();
    await Promise.all([...byTenant].map(async ([tenantId, list]) => {
      // Which broadcast each message is queued in (read first: a script declares every key it
      // touches); the script checks it again, so an end recorded meanwhile moves nothing twice.
      const k = this.keys;
      const entries = await this.client.hmget(k.broadcastMessages(tenantId), ...list.map((e) => e.messageId));
      const byBroadcast = new Map<string, string[]>();
      list.forEach((e, i) => {
        const entry = entries[i];
        if (entry === null || entry === undefined) return;
        const id = entry.slice(0, entry.indexOf(' '));
        let args = byBroadcast.get(id);
        if (args === undefined) byBroadcast.set(id, args = [id]);
        args.push(e.messageId, e.status);
      });
      await Promise.all([...byBroadcast].map(async ([id, args]) => {
        const reply = (await this.writes.script('broadcast-ends', [
          k.broadcastMessages(tenantId), k.broadcast(tenantId, id), k.broadcastStatuses(tenantId, id), k.broadcastQueued(tenantId, id),
        ], args)) as string[] | null;
        if (reply === null) return;
        touched.add(id);
        const counts = countsOf(id);
        if (counts !== undefined) STATUS_NAMES.forEach((name, i) => (counts[name] = Number(reply[i] ?? 0)));
      }));
    }));
    return touched;
  }

  private async state(tenantId: string, broadcastId: string, args: readonly string[]): Promise<{ applied: boolean; record: BroadcastRecord | null }> {
    const reply = (await this.writes.script('broadcast-state', [this.keys.broadcast(tenantId, broadcastId)], args)) as [number, unknown] | null;
    if (reply === null) return { applied: false, record: null };
    return { applied: reply[0] === 1, record: recordOf(reply[1]) };
  }

  async startRun(tenantId: string, broadcastId: string): Promise<void> {
    await this.state(tenantId, broadcastId, ['start', '', '', '', '']);
  }

  async expirePending(tenantId: string, broadcastId: string, total: number, counts: Record<RecipientStatusName, number>): Promise<void> {
    const { record } = await this.state(tenantId, broadcastId, ['expire', '', '', String(total), '']);
    if (record !== null) Object.assign(counts, record.counts);
  }

  async end(tenantId: string, broadcastId: string, state: BroadcastState, atMs: number, counts: Record<RecipientStatusName, number>, pendingAs: RecipientStatusName | null): Promise<boolean> {
    const { applied, record } = await this.state(tenantId, broadcastId, ['end', state, String(atMs), '', pendingAs ?? '']);
    if (record !== null) Object.assign(counts, record.counts);
    // Completed: every message ended, nothing reads its recipients' rows again (a cancelled one's go once it drained: unfinished).
    if (applied && state === 'completed') await this.client.unlink(this.keys.broadcastRecipients(tenantId, broadcastId));
    return applied;
  }

  async stateOf(tenantId: string, broadcastId: string): Promise<BroadcastState | null> {
    return (await this.client.hget(this.keys.broadcast(tenantId, broadcastId), 'state')) as BroadcastState | null;
  }

  async appendUpload(tenantId: string, uploadId: string, _firstSeq: number, rows: readonly UploadRow[]): Promise<void> {
    const key = this.keys.broadcastUpload(tenantId, uploadId);
    await this.writes.write((p: ChainableCommander) => {
      p.rpush(key, ...rows.map((r) => JSON.stringify([r.toInput, r.components])));
      p.pexpire(key, UPLOAD_TTL_MS);
    });
  }

  async finishUpload(uploadId: string, tenantId: string, count: number): Promise<void> {
    await this.writes.write((p) => {
      p.set(this.keys.broadcastUploadCount(tenantId, uploadId), String(count), 'PX', UPLOAD_TTL_MS);
      p.pexpire(this.keys.broadcastUpload(tenantId, uploadId), UPLOAD_TTL_MS);
    });
  }

  async upload(tenantId: string, uploadId: string): Promise<{ id: string; count: number } | null> {
    const count = await this.client.get(this.keys.broadcastUploadCount(tenantId, uploadId));
    return count === null ? null : { id: uploadId, count: Number(count) };
  }

  async *uploadRows(tenantId: string, uploadId: string): AsyncGenerator<UploadRow> {
    const key = this.keys.broadcastUpload(tenantId, uploadId);
    for (let from = 0; ; from += UPLOAD_PAGE) {
      const page = await this.client.lrange(key, from, from + UPLOAD_PAGE - 1);
      for (const text of page) {
        const [toInput, components] = JSON.parse(text) as [string, string | null];
        yield { toInput, components };
      }
      if (page.length < UPLOAD_PAGE) return;
    }
  }

  async dropUpload(tenantId: string, uploadId: string): Promise<void> {
    await this.client.unlink(this.keys.broadcastUpload(tenantId, uploadId), this.keys.broadcastUploadCount(tenantId, uploadId));
  }

  async dropOldUploads(): Promise<void> {
    // Uploads expire by themselves (UPLOAD_TTL_MS).
  }

  async close(): Promise<void> {
    // The connection is the message store's: it closes it.
  }
}
