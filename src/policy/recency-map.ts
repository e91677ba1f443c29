/**
 * A map keyed by (group, member) that remembers the order entries were last set in, oldest
 * first: the in-memory state of the policies (windows per number and user, tier holders and
 * deferrals per tenant and recipient, cached consent), swept and evicted from the oldest end.
 *
 * Why not one Map keyed by `${group}\0${member}`: every admission would build that string and
 * V8 would flatten and hash it on each lookup (~130 ns a lookup on the bench machine, against
 * ~10 ns for two lookups with the request's own strings, whose hashes V8 caches). Here the
 * lookup goes through a Map per group, and the order is a doubly linked list through the entries
 * (set moves an entry to the newest end, as delete + set does in a Map), so oldest() — read by
 * a sweep on every admission — is a field read, not an iterator allocated per call.
 */
export interface RecencyEntry<V> {
  readonly group: string;
  readonly member: string;
  value: V;
}

interface Node<V> extends RecencyEntry<V> {
  older: Node<V> | undefined;
  newer: Node<V> | undefined;
  /** False once removed (remove() of a stale entry is a no-op). */
  linked: boolean;
}

export class RecencyMap<V> {
  private readonly groups = new Map<string, Map<string, Node<V>>>();
  private head: Node<V> | undefined; // oldest
  private tail: Node<V> | undefined; // newest
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(group: string, member: string): RecencyEntry<V> | undefined {
    return this.groups.get(group)?.get(member);
  }

  /** Sets the value and makes the entry the newest. */
  set(group: string, member: string, value: V): RecencyEntry<V> {
    let members = this.groups.get(group);
    if (members === undefined) this.groups.set(group, (members = new Map()));
    let node = members.get(member);
    if (node === undefined) {
      node = { group, member, value, older: undefined, newer: undefined, linked: true };
      members.set(member, node);
      this.count++;
    } else {
      node.value = value;
      if (node === this.tail) return node;
      this.unlink(node);
    }
    node.older = this.tail;
    node.newer = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.newer = node;
    this.tail = node;
    return node;
  }

  delete(group: string, member: string): boolean {
    const entry = this.get(group, member);
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** The least recently set entry. */
  oldest(): RecencyEntry<V> | undefined {
    return this.head;
  }

  /** Removes an entry got from this map (no-op when it was already removed). */
  remove(entry: RecencyEntry<V>): void {
    const node = entry as Node<V>;
    if (!node.linked) return;
    this.unlink(node);
    node.linked = false;
    this.count--;
    const members = this.groups.get(node.group)!;
    members.delete(node.member);
    if (members.size === 0) this.groups.delete(node.group);
  }

  private unlink(node: Node<V>): void {
    if (node.older === undefined) this.head = node.newer;
    else node.older.newer = node.newer;
    if (node.newer === undefined) this.tail = node.older;
    else node.newer.older = node.older;
    node.older = node.newer = undefined;
  }
}
