/**
 * `npm run bench`: every benchmark, one after the other, each in its own processes.
 * Each prints its own table with ratios against a baseline measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHES = ['micro/core.js', 'micro/sim.js', 'micro/store.js', 'macro/ingress.js', 'macro/dispatch.js', 'macro/policy.js', 'macro/broadcast.js'];

let failed = 0;
for (const bench of BENCHES) {
  const path = fileURLToPath(new URL(`./${bench}`, import.meta.url));
  if (!existsSync(path)) continue;
  console.log(`\n=== ${bench.replace(/\.js$/, '')} ===`);
  const result = spawnSync(process.execPath, ['--expose-gc', path], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
