/**
 * Opens the SQLite file of the embedded store with the settings its durability rests on.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqliteFile } from '../sqlite-file.js';
import { MIGRATIONS } from './migrations.js';

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

/** Opens (creating the directory and file if needed) and migrates `<dir>/sendgate.db` (FULL: src/store/sqlite-file.ts). */
export function openDatabase(dir: string, options: DatabaseOptions): Database.Database {
  const file = join(dir, DB_FILE);
  try {
    return openSqliteFile(file, { migrations: MIGRATIONS, busyTimeoutMs: options.busyTimeoutMs, exclusive: options.exclusive });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new Error(`embedded store: ${file} is in use by another process (one gateway per storage.path)`, { cause: error });
    }
    throw error;
  }
}
