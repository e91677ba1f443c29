/**
 * The CLI's exit codes, so scripts can tell a typo from an outage:
 *   0 done · 1 the gateway refused or the work failed · 2 usage (bad arguments, bad config)
 *   3 the gateway could not be reached · 4 not allowed (missing or wrong admin token / API key)
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, forbidden: 4 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports in one line on stderr and exits with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCode) {
    super(message);
    this.name = 'CliError';
  }
}
