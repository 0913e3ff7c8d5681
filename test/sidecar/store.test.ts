/**
 * The sidecar's per-minute store (sidecar/store.ts) and `coldrl monitor`: a minute is written under the
 * minute its counts began in, however late the timer fires; a store locked by another writer costs the
 * sidecar no exception and no counts; the monitor reads a store of an older schema as it is, without
 * migrating it, and one quiet minute with a fallback does not warn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Reason } from '../../sidecar/codec.js';
import { DecisionStats } from '../../sidecar/metrics.js';
import { MinuteRecorder, openSidecarStore } from '../../sidecar/store.js';
import { runCli, tempDir } from '../helpers.js';

const minuteNow = () => Math.floor(Date.now() / 60_000);

test('a minute is written under the minute its counts began in; a locked store keeps them for the next flush, logged once', (t) => {
  const db = join(tempDir(t), 's.db');
  const store = openSidecarStore(db);
  t.after(() => store.db.close());
  const stats = new DecisionStats();
  const logged: string[] = [];
  const rec = new MinuteRecorder(store, stats, 'a.sock', () => 'v1', (l) => logged.push(l));
  const began = minuteNow();
  for (let i = 0; i < 10; i++) stats.record(i === 0 ? Reason.DEADLINE : Reason.NONE, 100);
  // another process holds the write lock: the flush neither throws nor loses the counts
  const other = new Database(db);
  other.exec('BEGIN IMMEDIATE');
  rec.flush();
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /cannot write the minute's counts to the store \(database is locked\); kept for the next minute/);
  stats.record(Reason.NONE, 100);
  rec.flush();
  assert.equal(logged.length, 1, 'logged once while it fails');
  other.exec('ROLLBACK');
  other.close();
  rec.flush();
  assert.match(logged[1]!, /the store is written again \(after 2 failed minutes\)/);
  const rows = store.db.prepare('SELECT minute, decisions, model, deadline FROM sidecar_minutes').all() as { minute: number; decisions: number; model: number; deadline: number }[];
  assert.equal(rows.length, 1);
  assert.deepEqual([rows[0]!.decisions, rows[0]!.model, rows[0]!.deadline], [11, 10, 1]);
  assert.ok(rows[0]!.minute === began || rows[0]!.minute === began + 1 && minuteNow() > began, 'the minute the counts began in');
});

test('coldrl monitor reads an older store without changing it, and a quiet minute with one fallback does not warn', (t) => {
  const db = join(tempDir(t), 'old.db');
  const old = new Database(db);
  old.exec(`CREATE TABLE sidecar_minutes (minute INTEGER NOT NULL, socket TEXT NOT NULL, decisions INTEGER NOT NULL, model INTEGER NOT NULL,
    deadline INTEGER NOT NULL, no_model INTEGER NOT NULL, model_error INTEGER NOT NULL, overload INTEGER NOT NULL, bad_request INTEGER NOT NULL,
    p50_us REAL NOT NULL, p99_us REAL NOT NULL, max_us REAL NOT NULL, model_version TEXT NOT NULL, PRIMARY KEY (minute, socket))`);
  const insert = old.prepare('INSERT INTO sidecar_minutes VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, 50, 90, 100, ?)');
  // 60 minutes of 50 decisions, one fallback among them all (0.03%)
  for (let i = 0; i < 60; i++) insert.run(minuteNow() - i, 'a.sock', 50, i === 7 ? 49 : 50, 'v0');
  old.close();
  const quiet = runCli(['monitor', '--db', db, '--json']);
  assert.equal(quiet.code, 0, quiet.stdout + quiet.stderr);
  const summary = JSON.parse(quiet.stdout.trim().split('\n').at(-1)!) as { decisions: number; fallbacks: number; minutesAbove: number; warning: boolean };
  assert.deepEqual([summary.decisions, summary.fallbacks, summary.minutesAbove, summary.warning], [3000, 1, 0, false]);
  const columns = (new Database(db, { readonly: true }).prepare('PRAGMA table_info(sidecar_minutes)').all() as { name: string }[]).map((c) => c.name);
  assert.ok(!columns.includes('source_mismatches'), 'not migrated by the monitor');
  // a busy minute above the threshold does warn
  const busy = new Database(db);
  busy.prepare('INSERT INTO sidecar_minutes VALUES (?, ?, 200, 190, 10, 0, 0, 0, 0, 50, 90, 100, ?)').run(minuteNow() - 1, 'b.sock', 'v0');
  busy.close();
  const warned = runCli(['monitor', '--db', db]);
  assert.equal(warned.code, 1, warned.stdout);
  assert.match(warned.stdout, /WARNING: fallback rate above 1\.00%; 1 of 60 minutes above it/);
});
