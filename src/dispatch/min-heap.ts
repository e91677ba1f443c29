/**
 * Binary min-heap ordered by `atMs`, ties broken by insertion order (so equal wake-up times run FIFO).
 * Drives the dispatcher's single timer: the root is the next instant anything needs doing.
 */
export interface Timed {
  atMs: number;
  /** Assigned by the heap on push. */
  seq?: number;
}

export class MinHeap<T extends Timed> {
  private readonly items: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    item.seq = this.nextSeq++;
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  private less(x: T, y: T): boolean {
    return x.atMs < y.atMs || (x.atMs === y.atMs && (x.seq ?? 0) < (y.seq ?? 0));
  }
}
