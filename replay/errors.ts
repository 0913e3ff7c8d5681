/**
 * One table of error classes with stable literal codes (fastify's FST_ERR_*, undici's UND_ERR_*).
 * Callers tell errors apart by `code`, never by message text. The CLI maps every ColdrlError to a
 * one-line message and exit code 2 (bad input) without a stack trace.
 */
export type ErrorCode =
  | 'COLDRL_ERR_USAGE'
  | 'COLDRL_ERR_FILE_NOT_FOUND'
  | 'COLDRL_ERR_EMPTY_TRACE'
  | 'COLDRL_ERR_BAD_LINE'
  | 'COLDRL_ERR_BAD_SIZE'
  | 'COLDRL_ERR_BAD_CACHE_SIZE'
  | 'COLDRL_ERR_UNKNOWN_POLICY'
  | 'COLDRL_ERR_INVARIANT'
  | 'COLDRL_ERR_BAD_FORMAT'
  | 'COLDRL_ERR_NO_ZSTD'
  | 'COLDRL_ERR_NO_DECOMPRESSOR'
  | 'COLDRL_ERR_INTERRUPTED'
  | 'COLDRL_ERR_MODEL'
  | 'COLDRL_ERR_FEATURE_SPEC'
  | 'COLDRL_ERR_PROTOCOL'
  | 'COLDRL_ERR_STORE'
  | 'COLDRL_ERR_SOCKET_IN_USE'
  | 'COLDRL_ERR_SOCKET'
  | 'COLDRL_ERR_BACKEND'
  | 'COLDRL_ERR_NGINX'
  /** An output file or folder (a model, its checkpoint, a report) cannot be written there. */
  | 'COLDRL_ERR_OUTPUT';

export class ColdrlError extends Error {
  readonly code: ErrorCode;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, exitCode = 2) {
    super(message);
    this.name = 'ColdrlError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function isColdrlError(e: unknown): e is ColdrlError {
  return e instanceof ColdrlError;
}

/** An fs error writing `path` as ColdrlError COLDRL_ERR_OUTPUT (one line, exit 2); any other error as it is. */
export function outputError(e: unknown, path: string, what = 'cannot write'): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (isColdrlError(e) || typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return e;
  return new ColdrlError('COLDRL_ERR_OUTPUT', `${path}: ${what} (${code}: ${(e as Error).message.replace(`${code}: `, '')})`);
}

/** A hint for an option parser's message: an unexpected argument is usually a glob the shell expanded. */
export function argumentHint(message: string): string {
  return message.startsWith('Unexpected argument') ? ' (quote a glob so that coldrl expands it: --trace \'logs/access.log*\')' : '';
}
