/**
 * Where the tenant catalog is kept: embedded (`<storage.path>/tenants.db`) or Redis (shared by a
 * fleet). A small seam: read everything, write a batch only if nobody wrote since (compare and
 * set on the version), and hear about other processes' writes.
 */
import type { CatalogOp, CatalogRows } from './model.js';

export interface CatalogBackend {
  load(): Promise<CatalogRows>;
  /** The current version (cheap: a fleet polls it). */
  version(): Promise<number>;
  /**
   * Applies `ops` atomically and durably if the version is still `expectedVersion`; resolves with
   * the new version, or null when another writer came first (read again and retry).
   */
  commit(expectedVersion: number, ops: readonly CatalogOp[]): Promise<number | null>;
  /** Calls `onChange` when another process committed (fleet); returns the unsubscribe. */
  subscribe(onChange: () => void): Promise<() => void>;
  /**
   * This process now runs on `version`. A fleet records it so a change can wait until every live
   * process applied it (`waitApplied`); one process has nothing to wait for.
   */
  acknowledge(version: number): Promise<void>;
  /** Resolves true once every live process acknowledged `version`, false after `timeoutMs`. */
  waitApplied(version: number, timeoutMs: number): Promise<boolean>;
  close(): void;
}
