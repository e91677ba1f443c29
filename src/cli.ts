#!/usr/bin/env node
/**
 * sendgate CLI.
 *   sendgate serve [--config FILE]            run the gateway (no config: demo mode)
 *   sendgate simulate [--port N] [--config FILE]   run the Cloud API simulator alone
 *   sendgate broadcast FILE.csv --number ID --template NAME ...   a broadcast through a running gateway (cli/broadcast.ts)
 * Env: SENDGATE_CONFIG (config file), PORT, REDIS_URL override the config.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from './config/load.js';

const USAGE = `usage:
  sendgate serve [--config FILE]                 run the gateway; with no config, a demo with the bundled simulator
  sendgate simulate [--port N] [--config FILE]   run the Cloud API simulator on its own
  sendgate broadcast FILE.csv --number ID --template NAME [--param COLUMN...] [--dry-run] [--detach]
                                                 send one template to every row of a CSV through a running gateway
env: SENDGATE_CONFIG, PORT, REDIS_URL`;

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'simulate': {
      const { runSimulateCommand } = await import('./sim/command.js');
      return runSimulateCommand(rest);
    }
    case 'broadcast': {
      const { runBroadcastCommand } = await import('./cli/broadcast.js');
      process.exitCode = await runBroadcastCommand(rest);
      return;
    }
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new ConfigError(`unknown command '${command}'\n${USAGE}`);
  }
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const path = values.config ?? process.env.SENDGATE_CONFIG;
  const { startGateway } = await import('./server.js');
  if (path !== undefined && path !== '') {
    const handle = await startGateway(loadConfigFile(path));
    onSignals(handle.close);
    return;
  }
  const { startDemo } = await import('./demo.js');
  const demo = await startDemo(Number(process.env.PORT ?? 8080));
  onSignals(demo.close);
}

function onSignals(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`sendgate: ${signal}, shutting down\n`);
    close().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`sendgate: shutdown failed: ${String(err)}\n`);
      process.exit(1);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : `fatal: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`sendgate: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
