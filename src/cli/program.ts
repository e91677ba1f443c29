/**
 * The `sendgate` command line (commander): every command with its own `--help`, exit codes from
 * exit-codes.ts. Commands are plain commander Commands built by one function each; add one by
 * listing it in COMMANDS.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { broadcastCommand } from './broadcast.js';
import { consentCommand } from './consent-import.js';
import { serveCommand, simulateCommand } from './serve.js';
import { pauseCommand, resumeCommand, statusCommand } from './status.js';
import { keysCommand, tenantsCommand } from './tenants.js';

/** Every command, in `--help` order. */
export const COMMANDS: ReadonlyArray<() => Command> = [
  serveCommand, simulateCommand, statusCommand, pauseCommand, resumeCommand, tenantsCommand, keysCommand, consentCommand, broadcastCommand,
];

export function buildProgram(commands: ReadonlyArray<() => Command> = COMMANDS): Command {
  const program = new Command('sendgate')
    .description('send gateway for the WhatsApp Business Platform (Cloud API)')
    .version(version(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `
Commands talking to a running gateway take --url (env SENDGATE_URL, default http://127.0.0.1:8080)
and --admin-token (env SENDGATE_ADMIN_TOKEN), or --api-key (env SENDGATE_API_KEY) for tenant APIs.
Exit codes: 0 done, 1 refused or failed, 2 usage, 3 gateway unreachable, 4 not allowed (token or key).`);
  for (const make of commands) program.addCommand(make());
  // Throw instead of exiting, on every command: the caller maps errors to exit codes.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/**
 * Exit code of a commander error: help asked for (`--help`) and `--version` are not failures; help
 * shown because something was missing (a command group without its subcommand) and every parse
 * error are usage errors.
 */
export function commanderExitCode(err: CommanderError): number {
  return err.exitCode === 0 ? 0 : 2;
}

/** The package's version (package.json sits three levels above dist/src/cli/). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
