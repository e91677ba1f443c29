import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { describeStoreConformance } from './conformance.js';

describeStoreConformance('embedded (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-store-'));
  return {
    open: async (clock) => new EmbeddedStore({ path: join(dir, 'data'), clock }),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
