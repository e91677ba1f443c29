/**
 * Control state in the embedded store: small JSON values under a key (a number's pause, its limit
 * overrides, its learned throughput ceiling, a tenant's pause). Written rarely, read once at boot.
 */
import type Database from 'better-sqlite3';
import type { ControlEntry } from '../types.js';

interface ControlRow {
  key: string;
  value: string;
  updated_at_ms: number;
}

export class ControlStatements {
  private readonly upsert: Database.Statement<[string, string, number]>;
  private readonly remove: Database.Statement<[string]>;
  private readonly selectAll: Database.Statement<[], ControlRow>;

  constructor(db: Database.Database) {
    this.upsert = db.prepare('INSERT INTO control_state (key, value, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms');
    this.remove = db.prepare('DELETE FROM control_state WHERE key = ?');
    this.selectAll = db.prepare('SELECT key, value, updated_at_ms FROM control_state ORDER BY key');
  }

  put(key: string, value: unknown, nowMs: number): void {
    if (value === null) this.remove.run(key);
    else this.upsert.run(key, JSON.stringify(value), nowMs);
  }

  all(): ControlEntry[] {
    return this.selectAll.all().map((r) => ({ key: r.key, value: JSON.parse(r.value) as unknown, updatedAtMs: r.updated_at_ms }));
  }
}
