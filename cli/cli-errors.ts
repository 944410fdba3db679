// How the CLI reports a failure on stderr: one line of text, or with --json one
// JSON line {"error":{"code","message",...}}. Imports nothing, so a usage error
// costs no module loading.

/** A bad command line: exit 2, with a hint pointing at the right help page. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help the hint names; none for the overview. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  get hint(): string {
    return `try 'config-sidecar ${this.command === undefined ? '' : `${this.command} `}--help'`;
  }
}

/** The fields of an error the CLI reports (a ConfigSidecarError has them all). */
export interface ReportedError {
  code: string;
  message: string;
  details?: unknown;
  hint?: string;
}

export function reportError(error: ReportedError, json: boolean): void {
  if (json) {
    const body: Record<string, unknown> = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    if (error.hint !== undefined) body.hint = error.hint;
    process.stderr.write(JSON.stringify({ error: body }) + '\n');
    return;
  }
  process.stderr.write(`config-sidecar: ${error.code}: ${error.message}\n`);
  if (error.hint !== undefined) process.stderr.write(`${error.hint}\n`);
}

export function reportUsage(error: UsageError, json: boolean): void {
  if (json) {
    reportError({ code: 'USAGE', message: error.message, hint: error.hint }, true);
    return;
  }
  process.stderr.write(`config-sidecar: ${error.message}\n${error.hint}\n`);
}
