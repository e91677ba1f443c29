/**
 * Store factory: the one place that picks an implementation from `storage` config.
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { EmbeddedStore } from './embedded/embedded-store.js';
import type { Store } from './types.js';

export type { Store } from './types.js';
export { FINAL_STATES } from './types.js';

export async function openStore(storage: Config['storage'], clock: Clock): Promise<Store> {
  switch (storage.kind) {
    case 'embedded':
      return new EmbeddedStore({ path: storage.path, clock });
    case 'redis':
      throw new Error('storage.kind "redis" is not implemented in this build; use { "kind": "embedded", "path": "..." }');
  }
}
