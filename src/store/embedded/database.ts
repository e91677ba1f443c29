/**
 * Opens the SQLite file of the embedded store with the settings its durability rests on.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export const DB_FILE = 'sendgate.db';

export interface DatabaseOptions {
  /** How long a statement waits for a lock another connection holds before failing SQLITE_BUSY. */
  busyTimeoutMs: number;
  /**
   * Hold the file's write lock from open to close, so a second process on the same directory fails
   * at open instead of dispatching the same unfinished messages twice. Only tests that need a second
   * connection to the file turn it off.
   */
  exclusive: boolean;
}

/** Opens (creating the directory and file if needed) and migrates `<dir>/sendgate.db`. */
export function openDatabase(dir: string, options: DatabaseOptions): Database.Database {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, DB_FILE);
  const db = new Database(file, { timeout: options.busyTimeoutMs });
  try {
    // EXCLUSIVE before the first WAL access keeps the WAL index in process memory (no -shm file).
    if (options.exclusive) db.pragma('locking_mode = EXCLUSIVE');
    // WAL: readers never block the writer, and a commit is one append + one fsync.
    db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced at every commit, so a resolved write survives a crash of the
    // process and of the machine (NORMAL would only survive the process).
    db.pragma('synchronous = FULL');
    migrate(db);
    // In EXCLUSIVE mode the first write transaction takes the lock for good: take it now.
    if (options.exclusive) db.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new Error(`embedded store: ${file} is in use by another process (one gateway per storage.path)`, { cause: error });
    }
    throw error;
  }
  return db;
}
