/**
 * The store: one better-sqlite3 file (default ./coldrl.db, WAL) shared by the trainer, the evaluations and
 * the sidecar (which adds its own table from its own module). Tables:
 *   runs         one training run: hyperparameters JSON, trace, seed, backend, start/end (ISO), status
 *   metrics      (run, step, name, value) every logFrequency decisions; names fixed (losses/td_loss, ...)
 *   evaluations  (run or model, policy, trace, cache size, hit ratio, byte hit ratio)
 *   models       exported model files: path, sha256, metadata JSON
 *   benchmarks   one benchmark result (name, JSON of its figures), e.g. the demo's sidecar latency run
 * Errors opening or writing it are ColdrlError COLDRL_ERR_STORE.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ColdrlError } from './errors.js';

export const DEFAULT_DB = 'coldrl.db';

/** A command's --db value as a store path: null for "none" (no store), the one rule of train, serve and bench learn. */
export function storePath(value: string): string | null {
  return value === 'none' ? null : value;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, hparams TEXT NOT NULL, trace TEXT NOT NULL,
  seed INTEGER NOT NULL, backend TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metrics (
  run INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run, name, step);
CREATE TABLE IF NOT EXISTS models (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run INTEGER REFERENCES runs(id), path TEXT NOT NULL, sha256 TEXT NOT NULL,
  metadata TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run INTEGER REFERENCES runs(id), model TEXT, policy TEXT NOT NULL,
  trace TEXT NOT NULL, cache_size TEXT NOT NULL, cache_bytes REAL NOT NULL, hit_ratio REAL NOT NULL,
  byte_hit_ratio REAL NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS benchmarks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, result TEXT NOT NULL, created TEXT NOT NULL);
`;

export interface RunRow { id: number; name: string; hparams: string; trace: string; seed: number; backend: string; started: string; ended: string | null; status: string }
export interface ModelRow { id: number; run: number | null; path: string; sha256: string; metadata: string; created: string }
export interface BenchmarkRow { id: number; name: string; result: string; created: string }
export interface EvaluationRow { id: number; run: number | null; model: string | null; policy: string; trace: string; cache_size: string; cache_bytes: number; hit_ratio: number; byte_hit_ratio: number; created: string }

const now = () => new Date().toISOString();

export class Store {
  readonly db: BetterSqlite3.Database;
  private readonly insertMetric: BetterSqlite3.Statement;

  constructor(readonly path: string = DEFAULT_DB) {
    try {
      const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
      // a store in a folder that does not exist yet (e.g. --db runs/today/coldrl.db) gets its folder
      if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new ColdrlError('COLDRL_ERR_STORE', `${path}: cannot open the store (${(e as Error).message})`);
    }
    this.insertMetric = this.db.prepare('INSERT INTO metrics (run, step, name, value) VALUES (?, ?, ?, ?)');
  }

  startRun(r: { name: string; hparams: unknown; trace: string; seed: number; backend: string }): number {
    const info = this.db.prepare('INSERT INTO runs (name, hparams, trace, seed, backend, started, status) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(r.name, JSON.stringify(r.hparams), r.trace, r.seed, r.backend, now(), 'running');
    return Number(info.lastInsertRowid);
  }

  /** Marks a run as running again (--resume). */
  resumeRun(id: number): void { this.db.prepare("UPDATE runs SET status = 'running', ended = NULL WHERE id = ?").run(id); }

  endRun(id: number, status: 'done' | 'interrupted' | 'failed'): void {
    this.db.prepare('UPDATE runs SET ended = ?, status = ? WHERE id = ?').run(now(), status, id);
  }

  /** Several metrics of one step in one transaction. */
  metrics(run: number, step: number, values: Record<string, number>): void {
    this.db.transaction(() => {
      for (const [name, v] of Object.entries(values)) if (Number.isFinite(v)) this.insertMetric.run(run, step, name, v);
    })();
  }

  addModel(m: { run: number | null; path: string; sha256: string; metadata: Record<string, string> }): number {
    return Number(this.db.prepare('INSERT INTO models (run, path, sha256, metadata, created) VALUES (?, ?, ?, ?, ?)')
      .run(m.run, m.path, m.sha256, JSON.stringify(m.metadata), now()).lastInsertRowid);
  }

  addEvaluation(e: { run: number | null; model: string | null; policy: string; trace: string; cacheSize: string; cacheBytes: number; hitRatio: number; byteHitRatio: number }): void {
    this.db.prepare('INSERT INTO evaluations (run, model, policy, trace, cache_size, cache_bytes, hit_ratio, byte_hit_ratio, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(e.run, e.model, e.policy, e.trace, e.cacheSize, e.cacheBytes, e.hitRatio, e.byteHitRatio, now());
  }

  addBenchmark(name: string, result: unknown): void {
    this.db.prepare('INSERT INTO benchmarks (name, result, created) VALUES (?, ?, ?)').run(name, JSON.stringify(result), now());
  }

  benchmarks(): BenchmarkRow[] { return this.db.prepare('SELECT * FROM benchmarks ORDER BY id').all() as BenchmarkRow[]; }
  /** Every (step, value) of one metric of a run, in step order. */
  series(run: number, name: string): [number, number][] {
    return (this.db.prepare('SELECT step, value FROM metrics WHERE run = ? AND name = ? ORDER BY step').all(run, name) as { step: number; value: number }[]).map((r) => [r.step, r.value]);
  }

  runs(): RunRow[] { return this.db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[]; }
  models(): ModelRow[] { return this.db.prepare('SELECT * FROM models ORDER BY id').all() as ModelRow[]; }
  evaluations(): EvaluationRow[] { return this.db.prepare('SELECT * FROM evaluations ORDER BY id').all() as EvaluationRow[]; }
  /** The last value of each metric of a run. */
  lastMetrics(run: number): Record<string, number> {
    const rows = this.db.prepare('SELECT name, value FROM metrics WHERE run = ? AND step = (SELECT MAX(step) FROM metrics m2 WHERE m2.run = metrics.run AND m2.name = metrics.name)').all(run) as { name: string; value: number }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  close(): void { this.db.close(); }
}
