/**
 * The simulator's media store: what `POST /{version}/{phone-number-id}/media` uploaded, answered
 * by `GET|DELETE /{version}/{media-id}` as the Cloud API answers them. Bounded: at most
 * MAX_MEDIA items and MAX_TOTAL_BYTES, the oldest going first.
 */
import { createHash } from 'node:crypto';

const MAX_MEDIA = 1000;
const MAX_TOTAL_BYTES = 256 * 1024 * 1024;

export interface StoredMedia {
  id: string;
  phoneNumberId: string;
  mimeType: string;
  sha256: string;
  bytes: Buffer;
}

export class SimMediaStore {
  private readonly items = new Map<string, StoredMedia>();
  private totalBytes = 0;
  private next = 0;

  constructor(private readonly idBase = 1_000_000_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1000) {}

  put(phoneNumberId: string, mimeType: string, bytes: Buffer): StoredMedia {
    const id = String(this.idBase + ++this.next);
    const item: StoredMedia = { id, phoneNumberId, mimeType, sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
    this.items.set(id, item);
    this.totalBytes += bytes.length;
    while (this.items.size > MAX_MEDIA || this.totalBytes > MAX_TOTAL_BYTES) {
      const oldest = this.items.keys().next().value;
      if (oldest === undefined || oldest === id) break;
      this.delete(oldest);
    }
    return item;
  }

  get(id: string): StoredMedia | undefined {
    return this.items.get(id);
  }

  delete(id: string): boolean {
    const item = this.items.get(id);
    if (item === undefined) return false;
    this.items.delete(id);
    this.totalBytes -= item.bytes.length;
    return true;
  }

  get size(): number {
    return this.items.size;
  }
}
