/**
 * Opens the SQLite file of the embedded store with the settings its durability rests on.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export const DB_FILE = 'sendgate.db';

/**
 * Opens (creating the directory and file if needed) and migrates `<dir>/sendgate.db`.
 * `busyTimeoutMs` bounds how long a write waits for a lock another connection holds.
 */
export function openDatabase(dir: string, busyTimeoutMs: number): Database.Database {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, DB_FILE), { timeout: busyTimeoutMs });
  try {
    // WAL: readers never block the writer, and a commit is one append + one fsync.
    db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced at every commit, so a resolved write survives a crash of the
    // process and of the machine (NORMAL would only survive the process).
    db.pragma('synchronous = FULL');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
