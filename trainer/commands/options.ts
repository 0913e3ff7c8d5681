/**
 * Option values shared by the trainer's commands (train, demo): one parser per kind, one message per kind.
 */
import { ColdrlError } from '../../replay/errors.js';

/**
 * An integer option: decimal digits only (1e3, 0x20, 1.5, 20_000 and an empty value are refused, as
 * Number() would take some of them), in lo..hi; undefined when not given.
 */
export function intOption(cmd: string, name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) throw new ColdrlError('COLDRL_ERR_USAGE', `${cmd}: --${name} must be an integer in ${lo}..${hi} (got ${v})`);
  return n;
}
