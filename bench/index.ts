/**
 * `coldrl bench <name>`: benchmark commands that print figures (speed targets live here, never in tests).
 * Each benchmark module exports help() and run(argv): Promise<number>.
 */
import { ColdrlError } from '../replay/errors.js';

/** The median of xs (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const summary = 'benchmarks: replay, logs, sidecar, nginx, learn, candidates, target, gpu (prints figures)';

const BENCHES: Record<string, [string, string]> = {
  replay: ['./replay.js', 'requests/s per policy on a generated 2-million-request trace'],
  logs: ['./logs.js', 'access-log parsing speed, lines/s on one core'],
  sidecar: ['./sidecar.js', 'sidecar round-trip latency and fallback rate, framed socket and gRPC'],
  nginx: ['./nginx.js', 'proxy requests/s and p99 with the module on and off'],
  learn: ['./learn.js', 'train and evaluate the learned policy on the reference workloads'],
  candidates: ['./candidates.js', 'oracle bound and learned policy for each candidate source and K'],
  target: ['./target.js', 'how well a training label ranks candidates when known exactly (no network)'],
  gpu: ['./gpu.js', 'trainer steps/s on webgpu vs wasm, and the packing for an offline GPU machine'],
};

export function help(): string {
  return `coldrl bench <name> [options]   (coldrl bench <name> --help)

${Object.entries(BENCHES).map(([k, [, s]]) => `  ${k.padEnd(11)} ${s}`).join('\n')}`;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') { console.log(help()); return name ? 0 : 2; }
  const entry = BENCHES[name];
  if (!entry) throw new ColdrlError('COLDRL_ERR_USAGE', `unknown benchmark "${name}" (known: ${Object.keys(BENCHES).join(', ')})`);
  const m = (await import(entry[0])) as { run(argv: string[]): Promise<number> };
  return m.run(rest);
}
