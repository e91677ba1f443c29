/**
 * A gateway process (the built CLI) over an embedded store in `dataDir`, the simulator as its
 * upstream: what the crash tests kill -9 and start again on the same files.
 */
import { CLI, spawnServer, tempJson, type Child } from '../../bench/macro/processes.js';

export interface CrashGatewayOptions {
  port: number;
  dataDir: string;
  simUrl: string;
  tenants: readonly object[];
  /** Upstream keys beyond the simulator's URL and version. */
  upstream?: object;
  /** Other top-level config keys (admin, …). */
  config?: object;
}

/** Starts it and resolves once `/readyz` answers. */
export function startCrashGateway(o: CrashGatewayOptions): Promise<Child> {
  const file = tempJson('gateway.json', {
    listen: { host: '127.0.0.1', port: o.port },
    storage: { kind: 'embedded', path: o.dataDir },
    upstream: { baseUrl: o.simUrl, version: 'v23.0', ...o.upstream },
    log: { level: 'warn' },
    ...o.config,
    tenants: o.tenants,
  });
  return spawnServer([CLI, 'serve', '--config', file], `http://127.0.0.1:${o.port}`, '/readyz');
}
