/** Shared test helpers: paths to ../shared, temporary directories, running the CLI. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Trace } from '../replay/trace.js';

/** Repository root (tests run from dist/test/...). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** ../shared beside the repository (CI lays a copy there). */
export const SHARED = [resolve(ROOT, '../shared'), resolve(ROOT, '../../shared')].find((p) => existsSync(p)) ?? resolve(ROOT, '../shared');
export const TRACES = join(SHARED, 'traces');
export const CLI = join(ROOT, 'dist/trainer/cli.js');

export function tempDir(t: { after(fn: () => void): void }, prefix = 'coldrl-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function runCli(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT, encoding: 'utf8', input: opts.input, env: { ...process.env, ...opts.env }, timeout: opts.timeout ?? 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every object's key, by id. */
export function keysOf(t: Trace): (number | string)[] {
  return Array.from({ length: t.objects }, (_, id) => t.key(id));
}
