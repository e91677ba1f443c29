/**
 * Child of worker-death.test.ts: a real gateway process whose store worker the parent can end
 * (`kill-worker`, the store's fault-test hook) and whose clock it can move forward (`advance`),
 * so /healthz's "unhealthy for N s" is reached without waiting N s of wall time.
 * Prints nothing itself: the gateway's own log (warn and up) goes to stdout.
 */
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/server.js';
import type { ThreadedEmbeddedStore } from '../../src/store/embedded/threaded-store.js';

const [dataDir, simUrl] = process.argv.slice(2) as [string, string];
let offsetMs = 0;
const clock = { nowMs: () => Date.now() + offsetMs };
const config = parseConfig({
  listen: { host: '127.0.0.1', port: 0 },
  storage: { kind: 'embedded', path: dataDir },
  upstream: { baseUrl: simUrl, version: 'v23.0', timeoutMs: 2000 },
  log: { level: 'warn' },
  tenants: [{ id: 'acme', apiKeys: ['key-worker-death-1'], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-1001', mps: 80, burst: 80 }] }],
}, 'worker-death child');
const gateway = await startGateway(config, { clock, defaultMetrics: false });
const store = gateway.store as ThreadedEmbeddedStore;

process.on('message', (msg: { cmd: string; ms?: number }) => {
  if (msg.cmd === 'kill-worker') void store.terminateWorkerForTest().then(() => process.send!({ killed: true }));
  else if (msg.cmd === 'advance') {
    offsetMs += msg.ms!;
    process.send!({ advanced: offsetMs });
  } else if (msg.cmd === 'stop') void gateway.close().then(() => process.exit(0));
});
process.send!({ url: gateway.url });
