/**
 * The one way a SQLite file of sendgate is opened: the message store, the tenant catalog, the
 * policy state, the webhooks and the broadcasts each have a file under `storage.path`, and each
 * opens it here with its own versioned migrations (migrate(), `PRAGMA user_version`).
 *
 * WAL, so readers never block the writer and a commit is one append. `synchronous` FULL (the
 * default) fsyncs the WAL at every commit, so a resolved write survives a crash of the machine;
 * NORMAL only a crash of the process (for state whose loss costs a duplicate, never a loss).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, type Migration } from './embedded/migrations.js';

export interface SqliteFileOptions {
  migrations: readonly Migration[];
  /** Default FULL. */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a statement waits for a lock another connection holds before failing SQLITE_BUSY. Default 5 s. */
  busyTimeoutMs?: number;
  /**
   * Hold the file's write lock from open to close: a second process on the same file fails at open.
   * The lock is taken before the first WAL access, which keeps the WAL index in process memory.
   */
  exclusive?: boolean;
}

/** Opens (creating the directory and the file if needed) and migrates `file`; closes it again if that fails. */
export function openSqliteFile(file: string, options: SqliteFileOptions): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    if (options.exclusive === true) db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    migrate(db, options.migrations);
    // In EXCLUSIVE mode the first write transaction takes the lock for good: take it now.
    if (options.exclusive === true) db.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
