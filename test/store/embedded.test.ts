import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { ThreadedEmbeddedStore } from '../../src/store/embedded/threaded-store.js';
import { describeStoreConformance } from './conformance.js';
import { describeEndedConformance } from './ended-conformance.js';

describeStoreConformance('embedded (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-store-'));
  return {
    open: async (clock) => new EmbeddedStore({ path: join(dir, 'data'), clock }),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

// The same suite against the store as the gateway runs it: EmbeddedStore in a worker thread.
describeStoreConformance('embedded in a worker thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-store-threaded-'));
  return {
    open: async (clock) => ThreadedEmbeddedStore.open(join(dir, 'data'), clock),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeEndedConformance('embedded in a worker thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-store-ended-'));
  return {
    open: async (clock) => ThreadedEmbeddedStore.open(join(dir, 'data'), clock),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
