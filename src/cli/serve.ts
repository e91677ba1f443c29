/**
 * `sendgate serve [--config FILE]`: the gateway (with no config: the demo, with the bundled
 * simulator as upstream) until SIGINT / SIGTERM, which close it gracefully.
 * `sendgate simulate …`: the Cloud API simulator on its own (src/sim/command.ts).
 */
import { Command, Option } from 'commander';
import { loadConfigFile } from '../config/load.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the gateway; with no config, a demo with the bundled Cloud API simulator')
    .addOption(new Option('--config <file>', 'config file (JSON)').env('SENDGATE_CONFIG'))
    .addHelpText('after', '\nEnv: PORT and REDIS_URL override the config; SENDGATE_DATA is the demo\'s data directory.')
    .action(async (opts: { config?: string }) => {
      const { startGateway } = await import('../server.js');
      if (opts.config !== undefined && opts.config !== '') {
        const handle = await startGateway(loadConfigFile(opts.config));
        onSignals(handle.close);
        return;
      }
      const { startDemo } = await import('../demo.js');
      const demo = await startDemo(Number(process.env.PORT ?? 8080));
      onSignals(demo.close);
    });
}

export function simulateCommand(): Command {
  return new Command('simulate')
    .description('run the Cloud API simulator on its own (for load tests)')
    .option('--port <n>', 'port (default 8090)')
    .option('--host <host>', 'address to listen on')
    .option('--config <file>', 'simulator config (numbers, tokens, limits, faults)')
    .option('--seed <n>', 'seed of the fault injection')
    .option('--accept-any-number', 'accept any phone number id with any token')
    .option('--tls', 'HTTPS with HTTP/2 on a throwaway self-signed certificate')
    .action(async (opts: { port?: string; host?: string; config?: string; seed?: string; acceptAnyNumber?: boolean; tls?: boolean }) => {
      const args: string[] = [];
      for (const name of ['port', 'host', 'config', 'seed'] as const) if (opts[name] !== undefined) args.push(`--${name}`, opts[name]);
      if (opts.acceptAnyNumber === true) args.push('--accept-any-number');
      if (opts.tls === true) args.push('--tls');
      const { runSimulateCommand } = await import('../sim/command.js');
      await runSimulateCommand(args);
    });
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
