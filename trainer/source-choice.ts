/**
 * `coldrl train --candidates auto`: the candidate source chosen on the operator's own requests, by training
 * one short model per source and comparing them on the last tenth of the training part, by the run's goal.
 */
import { rmSync } from 'node:fs';
import type { Goal } from '../replay/candidates.js';
import { isColdrlError } from '../replay/errors.js';
import { describeHoldout } from '../replay/holdout.js';
import { DEFAULT_HOLDOUT, runTraining, splitHoldout, type TrainingSpec } from './training.js';

/**
 * The sources `--candidates auto` chooses between: `overdue` (the default) and `blend` (the default before
 * it) are never far behind and far ahead where a few huge objects hold most of the bytes, `perbyte` a little
 * ahead of `blend` on trap, tragen and CloudPhysics, `aged` on tragen, `agedblend` where popularity drifts
 * (docs/candidates.md); no single one is best everywhere. The first wins ties.
 */
export const AUTO_SOURCES = ['overdue', 'blend', 'perbyte', 'aged', 'agedblend'] as const;

/**
 * The sources `--candidates auto --goal bytes` chooses between, for a model that ranks per object:
 * `sample` (its default: uniform residents), `rare` (the fewest lifetime requests, per object as the
 * ranking is) and `tail` (the least recently used). The per-byte keyed sources above offer mostly large
 * residents, which a per-object ranking has no reason to prefer (docs/training.md).
 */
export const AUTO_BYTES_SOURCES = ['sample', 'rare', 'tail'] as const;

/** The sources `--candidates auto` tries for a goal. */
export const autoSources = (goal: Goal): readonly string[] => (goal === 'bytes' ? AUTO_BYTES_SOURCES : AUTO_SOURCES);

/** What `--candidates auto` measured: each source's model on the validation requests, and the pick. */
export interface SourceChoice {
  chosen: string;
  from: number;
  decisions: number;
  hitRatio: Record<string, number>;
  lru: number;
  /** With --goal bytes, what chose: byte hit ratios, LRU's beside them. */
  byteHitRatio?: Record<string, number>;
  lruBytes?: number;
}

/**
 * `--candidates auto`: trains one model per source of autoSources(goal) on `trace` less its last tenth
 * (half the decisions each, no store, files removed), replays that tenth under each (warmed up, as the
 * held-out check does) and picks the source with the more hits, or with --goal bytes the more bytes,
 * served from the cache (ties: the first). The held-out requests of `--holdout` are not in `trace`, so they
 * play no part in the choice. Null when interrupted (Ctrl-C).
 */
export async function chooseSource(spec: Omit<TrainingSpec, 'holdout' | 'resume'>, log: (line: string) => void): Promise<SourceChoice | null> {
  const { trace: part, holdout: validation } = await splitHoldout(spec.trace, DEFAULT_HOLDOUT);
  const decisions = Math.max(1, Math.floor(spec.hp.totalDecisions / 2));
  const bytes = spec.hp.goal === 'bytes';
  const hitRatio: Record<string, number> = {};
  const byteHitRatio: Record<string, number> = {};
  const overLru: Record<string, number> = {};
  let lru = NaN, lruBytes = NaN;
  for (const source of autoSources(spec.hp.goal)) {
    const out = `${spec.out}.auto-${source}.onnx`;
    try {
      const o = await runTraining({ ...spec, hp: { ...spec.hp, candidates: source, totalDecisions: decisions }, trace: part, out, db: null, holdout: validation })
        .catch((e: unknown) => { if (isColdrlError(e) && e.code === 'COLDRL_ERR_INTERRUPTED') return null; throw e; });
      if (!o || o.result.interrupted || !o.holdout) return null;
      hitRatio[source] = o.holdout.hitRatio.model!;
      lru = o.holdout.hitRatio.lru!;
      if (bytes) {
        byteHitRatio[source] = o.holdout.byteHitRatio!.model!;
        lruBytes = o.holdout.byteHitRatio!.lru!;
      }
      log(`candidates ${source}: ${describeHoldout(o.holdout, 'validation')}`);
      overLru[source] = bytes ? o.holdout.bytesOverLru! : o.holdout.hitsOverLru;
    } finally {
      rmSync(out, { force: true });
      rmSync(`${out}.ckpt.json`, { force: true });
    }
  }
  return { chosen: bestSource(overLru), from: validation.from, decisions, hitRatio, lru, ...(bytes ? { byteHitRatio, lruBytes } : {}) };
}

/** The source with the most hits (or bytes) over LRU (ties: the earlier one), whatever their signs. */
export function bestSource(hitsOverLru: Readonly<Record<string, number>>): string {
  let chosen = '', best = -Infinity;
  for (const [source, h] of Object.entries(hitsOverLru)) if (h > best) { best = h; chosen = source; }
  return chosen;
}
