/**
 * The simulator in its own process (compiled dist/), so its clock and event loop are not stalled
 * by the gateway's work in the test process: arrival times it measures are the network's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { SimConfigInput, SimStats } from '../../src/sim/index.js';

const SIM_MODULE = resolve(import.meta.dirname, '../../dist/src/sim/index.js');

export interface SimProcess {
  url: string;
  stats(): Promise<SimStats>;
  close(): Promise<void>;
}

export async function startSimProcess(config: SimConfigInput): Promise<SimProcess> {
  if (!existsSync(SIM_MODULE)) throw new Error(`${SIM_MODULE} is missing: run \`npx tsc -p tsconfig.json\` first`);
  const script = `
    const { startSimulator } = await import(${JSON.stringify(pathToFileURL(SIM_MODULE).href)});
    const sim = await startSimulator(JSON.parse(process.argv[1]));
    process.stdout.write(JSON.stringify({ url: sim.url }) + '\\n');
    process.on('SIGTERM', () => sim.close().then(() => process.exit(0)));
  `;
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify({ ...config, host: '127.0.0.1', port: 0 })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolveUrl((JSON.parse(line) as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`simulator process exited early (${code})`)));
  });
  return {
    url,
    async stats() {
      const res = await fetch(`${url}/__sim/stats`);
      return (await res.json()) as SimStats;
    },
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
