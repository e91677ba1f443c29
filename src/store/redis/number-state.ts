/**
 * A number's queue as the fleet's store holds it, for the admin view of numbers another process
 * owns (their lanes are not in this process): waiting messages, the oldest's creation time and the
 * lease holder. Plain reads; a number's keys share its tenant's slot.
 */
import type { Priority } from '../types.js';
import type { RedisStore } from './redis-store.js';

export interface StoredNumberState {
  /** Unfinished messages (queued or sending) in the number's queues. */
  depth: number;
  /** Creation time of the first message in service order of each priority, the earlier; null when none. */
  oldestCreatedAtMs: number | null;
  /** The fleet member holding the number's lease; null when none does. */
  owner: string | null;
}

const PRIORITIES: readonly Priority[] = [0, 1];

export async function storedNumberState(store: RedisStore, tenantId: string, phoneNumberId: string): Promise<StoredNumberState> {
  const { client, keys } = store;
  const [sizes, heads, lease] = await Promise.all([
    Promise.all(PRIORITIES.map((p) => client.zcard(keys.queue(tenantId, phoneNumberId, p)))),
    Promise.all(PRIORITIES.map((p) => client.zrange(keys.queue(tenantId, phoneNumberId, p), 0, 0))),
    client.get(keys.numberLease(tenantId, phoneNumberId)),
  ]);
  // Queue members are `<seq>:<id>`.
  const ids = heads.flat().map((member) => member.slice(member.indexOf(':') + 1));
  const created = await Promise.all(ids.map((id) => client.hget(keys.record(tenantId, id), 'createdAtMs')));
  const times = created.filter((v): v is string => v !== null).map(Number);
  return {
    depth: sizes.reduce((a, b) => a + b, 0),
    oldestCreatedAtMs: times.length === 0 ? null : Math.min(...times),
    // The lease value is `<token> <owner>`.
    owner: lease === null ? null : lease.slice(lease.indexOf(' ') + 1),
  };
}
