/**
 * The tenant catalog of an embedded gateway: `<storage.path>/tenants.db`, its own small SQLite
 * file (admin changes are rare; writes are synchronous on the main thread, WAL + synchronous=FULL,
 * so an answered change survives a crash of the machine).
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqliteFile } from '../../store/sqlite-file.js';
import type { CatalogBackend } from './backend.js';
import { CATALOG_TABLES, type CatalogOp, type CatalogRows, type CatalogTable } from './model.js';

export const TENANTS_DB_FILE = 'tenants.db';

const MIGRATIONS = [{
  version: 1,
  sql: `
    CREATE TABLE catalog (tbl TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (tbl, field)) WITHOUT ROWID;
    CREATE TABLE catalog_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
    INSERT INTO catalog_version (id, version) VALUES (1, 0);
  `,
}];

export class SqliteCatalogBackend implements CatalogBackend {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(storageDir: string) {
    this.db = openSqliteFile(join(storageDir, TENANTS_DB_FILE), { migrations: MIGRATIONS });
    this.stmts = {
      all: this.db.prepare<[], { tbl: string; field: string; value: string }>('SELECT tbl, field, value FROM catalog'),
      version: this.db.prepare<[], { version: number }>('SELECT version FROM catalog_version WHERE id = 1'),
      bump: this.db.prepare('UPDATE catalog_version SET version = version + 1 WHERE id = 1'),
      put: this.db.prepare('INSERT INTO catalog (tbl, field, value) VALUES (?, ?, ?) ON CONFLICT (tbl, field) DO UPDATE SET value = excluded.value'),
      del: this.db.prepare('DELETE FROM catalog WHERE tbl = ? AND field = ?'),
    };
  }

  async load(): Promise<CatalogRows> {
    return this.db.transaction(() => {
      const tables = Object.fromEntries(CATALOG_TABLES.map((t) => [t, new Map<string, string>()])) as Record<CatalogTable, Map<string, string>>;
      for (const row of this.stmts.all.all()) tables[row.tbl as CatalogTable]?.set(row.field, row.value);
      return { version: this.stmts.version.get()!.version, tables };
    })();
  }

  async version(): Promise<number> {
    return this.stmts.version.get()!.version;
  }

  async commit(expectedVersion: number, ops: readonly CatalogOp[]): Promise<number | null> {
    return this.db.transaction(() => {
      const current = this.stmts.version.get()!.version;
      if (current !== expectedVersion) return null;
      if (ops.length === 0) return current;
      for (const op of ops) {
        if (op.value === null) this.stmts.del.run(op.table, op.field);
        else this.stmts.put.run(op.table, op.field, op.value);
      }
      this.stmts.bump.run();
      return current + 1;
    }).immediate();
  }

  async subscribe(): Promise<() => void> {
    return () => {};
  }

  async acknowledge(): Promise<void> {}

  async waitApplied(): Promise<boolean> {
    return true;
  }

  close(): void {
    this.db.close();
  }
}
