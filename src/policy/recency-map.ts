/**
 * A map keyed by (group, member) that remembers the order entries were last set in, oldest
 * first: the in-memory state of the policies (windows per number and user, tier holders and
 * deferrals per tenant and recipient, cached consent), swept and evicted from the oldest end.
 *
 * Why not one Map keyed by `${group}\0${member}`: every admission would build that string and
 * V8 would flatten and hash it on each lookup (~130 ns a lookup on the bench machine, against
 * ~10 ns for two lookups with the request's own strings, whose hashes V8 caches). Here the
 * lookup goes through a Map per group, and the order lives in a Set of the entry objects (a
 * delete + add moves an entry to the newest end, as delete + set does in a Map).
 */
export interface RecencyEntry<V> {
  readonly group: string;
  readonly member: string;
  value: V;
}

export class RecencyMap<V> {
  private readonly groups = new Map<string, Map<string, RecencyEntry<V>>>();
  /** Entries from the least to the most recently set. */
  private readonly order = new Set<RecencyEntry<V>>();

  get size(): number {
    return this.order.size;
  }

  get(group: string, member: string): RecencyEntry<V> | undefined {
    return this.groups.get(group)?.get(member);
  }

  /** Sets the value and makes the entry the newest. */
  set(group: string, member: string, value: V): RecencyEntry<V> {
    let members = this.groups.get(group);
    if (members === undefined) this.groups.set(group, (members = new Map()));
    let entry = members.get(member);
    if (entry === undefined) {
      entry = { group, member, value };
      members.set(member, entry);
    } else {
      entry.value = value;
      this.order.delete(entry);
    }
    this.order.add(entry);
    return entry;
  }

  delete(group: string, member: string): boolean {
    const entry = this.get(group, member);
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** The least recently set entry. */
  oldest(): RecencyEntry<V> | undefined {
    return this.order.values().next().value;
  }

  /** Removes an entry got from this map (no-op when it was already removed). */
  remove(entry: RecencyEntry<V>): void {
    if (!this.order.delete(entry)) return;
    const members = this.groups.get(entry.group)!;
    members.delete(entry.member);
    if (members.size === 0) this.groups.delete(entry.group);
  }

  clear(): void {
    this.groups.clear();
    this.order.clear();
  }
}
