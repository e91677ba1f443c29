/**
 * `sendgate simulate [--port N] [--host H] [--config FILE] [--seed S] [--accept-any-number] [--tls]`:
 * runs the Cloud API simulator on its own until SIGINT/SIGTERM. Flags override the config file.
 */
import { pathToFileURL } from 'node:url';
import { loadSimConfigFile, parseSimConfig, type SimConfigInput } from './config.js';
import { selfSignedPair } from './self-signed.js';
import { startSimulator, type Simulator } from './simulator.js';

export function parseSimulateArgs(argv: readonly string[]): SimConfigInput {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`simulate: unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (arg === '--accept-any-number') flags.set('accept-any-number', true);
    else if (arg === '--tls') flags.set('tls', true);
    else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`simulate: ${arg} needs a value`);
      flags.set(arg.slice(2), value);
      i++;
    }
  }
  for (const k of flags.keys()) {
    if (!['port', 'host', 'config', 'seed', 'accept-any-number', 'tls'].includes(k)) throw new Error(`simulate: unknown option --${k}`);
  }
  const file = flags.get('config');
  const base: SimConfigInput = typeof file === 'string' ? { ...loadSimConfigFile(file) } : { port: 8090 };
  const int = (name: string): number | undefined => {
    const v = flags.get(name);
    if (typeof v !== 'string') return undefined;
    if (!/^[0-9]+$/.test(v)) throw new Error(`simulate: --${name} must be a non-negative integer`);
    return Number(v);
  };
  const port = int('port');
  const seed = int('seed');
  const host = flags.get('host');
  const out: SimConfigInput = {
    ...base,
    ...(port !== undefined ? { port } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(typeof host === 'string' ? { host } : {}),
    ...(flags.has('accept-any-number') ? { acceptAnyNumber: true } : {}),
    // HTTPS with HTTP/2 on a throwaway self-signed certificate (clients must trust or skip it).
    ...(flags.has('tls') ? { tls: selfSignedPair() } : {}),
  };
  parseSimConfig(out); // fail fast with the path of a bad value
  return out;
}

/** Starts the simulator from CLI arguments; resolves once it listens. SIGINT/SIGTERM close it. */
export async function runSimulateCommand(argv: string[]): Promise<void> {
  const sim = await startSimulateCommand(argv);
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The part of runSimulateCommand that tests can run in-process: no signal handlers, caller closes. */
export async function startSimulateCommand(argv: readonly string[]): Promise<Simulator> {
  const input = parseSimulateArgs(argv);
  const sim = await startSimulator(input);
  const numbers = input.numbers?.length ?? 0;
  process.stdout.write(
    `sendgate simulator listening on ${sim.url} (${numbers} configured number(s)${input.acceptAnyNumber ? ', any number accepted' : numbers === 0 ? '; add numbers with --config FILE or --accept-any-number' : ''})\n` +
      `  try: curl -s ${sim.url}/__sim/stats\n`,
  );
  return sim;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSimulateCommand(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });
}
