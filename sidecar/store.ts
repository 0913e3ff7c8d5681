/**
 * Per-minute aggregates of the sidecar in the shared SQLite store (replay/store.ts opens the file; this
 * module adds its own table). One row per (minute, socket): decisions by source and reason, and server
 * latency quantiles of that minute. Written at every minute boundary and at shutdown; a minute split by a
 * restart is merged (counts added, quantiles: the larger of the two, an upper bound). A store written before
 * source_mismatches existed gains the column (0 for its old minutes) when `coldrl serve` opens it;
 * `coldrl monitor` reads it as it is, read-only (readMinutesOf), so it can run beside an older sidecar and
 * as another user.
 * The sidecar writes on its socket thread: it waits at most SIDECAR_BUSY_MS for another writer's lock (a
 * `coldrl train` recording a run in the same file), and a minute it cannot write is kept and written with
 * the next one (MinuteRecorder.flush), never an exception in the server.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { Store } from '../replay/store.js';
import { ColdrlError } from '../replay/errors.js';
import { Reason } from './codec.js';
import type { DecisionStats } from './metrics.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sidecar_minutes (
  minute INTEGER NOT NULL, socket TEXT NOT NULL, decisions INTEGER NOT NULL, model INTEGER NOT NULL,
  deadline INTEGER NOT NULL, no_model INTEGER NOT NULL, model_error INTEGER NOT NULL, overload INTEGER NOT NULL,
  bad_request INTEGER NOT NULL, p50_us REAL NOT NULL, p99_us REAL NOT NULL, max_us REAL NOT NULL,
  model_version TEXT NOT NULL, source_mismatches INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (minute, socket));
`;
const COLUMNS = ['minute', 'socket', 'decisions', 'model', 'deadline', 'no_model', 'model_error', 'overload', 'bad_request',
  'p50_us', 'p99_us', 'max_us', 'model_version', 'source_mismatches'] as const;


export interface MinuteRow {
  minute: number; socket: string; decisions: number; model: number; deadline: number; no_model: number;
  model_error: number; overload: number; bad_request: number; p50_us: number; p99_us: number; max_us: number;
  model_version: string;
  /** Requests from another candidate source than the serving model's (decide.ts). */
  source_mismatches: number;
}

/** How long the sidecar's connection waits for another writer's lock (ms): its socket thread waits with it. */
const SIDECAR_BUSY_MS = 20;

export function openSidecarStore(path: string): Store {
  const s = new Store(path);
  try {
    s.db.pragma(`busy_timeout = ${SIDECAR_BUSY_MS}`);
    s.db.exec(SCHEMA);
    const have = new Set((s.db.prepare('PRAGMA table_info(sidecar_minutes)').all() as { name: string }[]).map((c) => c.name));
    if (!have.has('source_mismatches')) s.db.exec('ALTER TABLE sidecar_minutes ADD COLUMN source_mismatches INTEGER NOT NULL DEFAULT 0');
  } catch (e) { throw new ColdrlError('COLDRL_ERR_STORE', `${path}: cannot create sidecar_minutes (${(e as Error).message})`); }
  return s;
}

/** Writes DecisionStats' minute counters to the store at each minute boundary. */
export class MinuteRecorder {
  private timer: NodeJS.Timeout | null = null;
  private readonly upsert;
  /** The minute the counters being gathered began in (a timer fires late: its own time is the next minute's). */
  private minute = Math.floor(Date.now() / 60_000);
  /** Flushes that failed in a row (logged at the first). */
  private failures = 0;

  constructor(store: Store, private readonly stats: DecisionStats, private readonly socket: string,
    private readonly version: () => string, private readonly log: (line: string) => void = () => {}) {
    this.upsert = store.db.prepare(`INSERT INTO sidecar_minutes (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})
      ON CONFLICT (minute, socket) DO UPDATE SET decisions = decisions + excluded.decisions, model = model + excluded.model,
      deadline = deadline + excluded.deadline, no_model = no_model + excluded.no_model, model_error = model_error + excluded.model_error,
      overload = overload + excluded.overload, bad_request = bad_request + excluded.bad_request,
      p50_us = max(p50_us, excluded.p50_us), p99_us = max(p99_us, excluded.p99_us), max_us = max(max_us, excluded.max_us),
      source_mismatches = source_mismatches + excluded.source_mismatches, model_version = excluded.model_version`);
  }

  start(): void {
    this.minute = Math.floor(Date.now() / 60_000);
    const next = () => {
      const ms = 60_000 - (Date.now() % 60_000);
      this.timer = setTimeout(() => { this.flush(); next(); }, ms);
      this.timer.unref();
    };
    next();
  }

  /**
   * Writes the counters gathered since the last flush as the minute they began in, then resets them. A
   * write that fails (the store locked longer than SIDECAR_BUSY_MS, a full disk) keeps them, to be written
   * with the next minute's under this minute; it is logged, not thrown.
   */
  flush(): void {
    const r = this.stats.minuteByReason;
    let decisions = 0;
    for (let i = 0; i < r.length; i++) decisions += r[i]!;
    if (decisions > 0) {
      const h = this.stats.minuteLatency;
      try {
        this.upsert.run({
          minute: this.minute, socket: this.socket, decisions, model: r[Reason.NONE]!, deadline: r[Reason.DEADLINE]!,
          no_model: r[Reason.NO_MODEL]!, model_error: r[Reason.MODEL_ERROR]!, overload: r[Reason.OVERLOAD]!,
          bad_request: r[Reason.BAD_REQUEST]!, p50_us: h.quantile(0.5), p99_us: h.quantile(0.99), max_us: h.maxUs,
          model_version: this.version(), source_mismatches: this.stats.minuteSourceMismatches,
        });
      } catch (e) {
        if (this.failures++ === 0) this.log(`warning: cannot write the minute's counts to the store (${(e as Error).message}); kept for the next minute`);
        return;
      }
      if (this.failures > 0) this.log(`the store is written again (after ${this.failures} failed ${this.failures === 1 ? 'minute' : 'minutes'})`);
      this.failures = 0;
    }
    r.fill(0);
    this.stats.minuteSourceMismatches = 0;
    this.stats.minuteLatency.reset();
    this.minute = Math.floor(Date.now() / 60_000);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush();
  }
}

/** Rows of the last `minutes` minutes (all sockets), oldest first. */
function selectMinutes(db: BetterSqlite3.Database, minutes: number, nowMs: number): MinuteRow[] {
  const have = new Set((db.prepare('PRAGMA table_info(sidecar_minutes)').all() as { name: string }[]).map((c) => c.name));
  if (have.size === 0) return [];
  // a store written before source_mismatches existed, not migrated (read-only): its minutes read 0
  const cols = COLUMNS.map((c) => (have.has(c) ? c : `0 AS ${c}`)).join(', ');
  const from = Math.floor(nowMs / 60_000) - minutes + 1;
  return db.prepare(`SELECT ${cols} FROM sidecar_minutes WHERE minute >= ? ORDER BY minute, socket`).all(from) as MinuteRow[];
}

/**
 * The last `minutes` minutes of the store file at `path`, read-only and as the file is (no migration, no
 * write: `coldrl monitor` runs beside a sidecar of another version, or as a user who cannot write it).
 */
export function readMinutesOf(path: string, minutes: number, nowMs = Date.now()): MinuteRow[] {
  let db: BetterSqlite3.Database;
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new ColdrlError('COLDRL_ERR_STORE', `${path}: cannot open the store (${(e as Error).message})`);
  }
  try {
    db.pragma('busy_timeout = 5000');
    return selectMinutes(db, minutes, nowMs);
  } catch (e) {
    throw new ColdrlError('COLDRL_ERR_STORE', `${path}: cannot read the sidecar's minutes (${(e as Error).message})`);
  } finally {
    db.close();
  }
}
