/** The seeded workload generators by name (one file each); `coldrl workload NAME` and tests use this table. */
import type { Trace } from '../trace.js';
import { bursty, BURSTY_REQUESTS } from './bursty.js';
import { cdn, CDN_REQUESTS } from './cdn.js';
import { drift, DRIFT_REQUESTS } from './drift.js';
import { video, VIDEO_REQUESTS } from './video.js';
import { scan, SCAN_REQUESTS } from './scan.js';
import { trap, TRAP_REQUESTS } from './trap.js';

export const WORKLOADS: Record<string, { summary: string; requests: number; generate: (seed: number, requests?: number) => Trace }> = {
  trap: { summary: "the Cold-RL paper's adversarial trap workload (2,000 objects, bursting large gems)", requests: TRAP_REQUESTS, generate: trap },
  bursty: { summary: 'periodic bursts of large returning objects over a Zipf core of mixed sizes', requests: BURSTY_REQUESTS, generate: bursty },
  scan: { summary: 'scans and one-hit wonders over a Zipf core, with uncacheable API calls', requests: SCAN_REQUESTS, generate: scan },
  drift: { summary: 'a Zipf catalogue whose popular objects change every 20,000 requests (popularity drift)', requests: DRIFT_REQUESTS, generate: drift },
  video: { summary: 'images beside whole videos: few huge objects hold most of the bytes', requests: VIDEO_REQUESTS, generate: video },
  cdn: { summary: 'a CDN day: a Zipf catalogue whose ranking turns slowly, log-normal sizes, mixed TTLs, a daily cycle', requests: CDN_REQUESTS, generate: cdn },
};
