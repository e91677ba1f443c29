#!/usr/bin/env node
/**
 * sendgate CLI: `sendgate serve | simulate | status | pause | resume | tenants … | keys … | broadcast FILE |
 * consent import FILE` (src/cli/program.ts). `sendgate --help` and `sendgate <command> --help`
 * list the options. Exit codes: src/cli/exit-codes.ts.
 */
import { CommanderError } from 'commander';
import { CliError, EXIT } from './cli/exit-codes.js';
import { buildProgram, commanderExitCode } from './cli/program.js';
import { ConfigError } from './config/load.js';

async function main(argv: string[]): Promise<void> {
  // Bare `sendgate` runs the gateway, as `npm start` always has.
  await buildProgram().parseAsync(argv.length === 0 ? ['serve'] : argv, { from: 'user' });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Commander has already printed its own message (or the help).
  if (err instanceof CommanderError) process.exit(commanderExitCode(err));
  const message = err instanceof ConfigError || err instanceof CliError ? err.message : `fatal: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`sendgate: ${message}\n`);
  process.exit(err instanceof CliError ? err.exitCode : err instanceof ConfigError ? EXIT.usage : EXIT.failure);
});
