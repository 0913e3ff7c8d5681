/** The seeded workload generators by name (one file each); `coldrl workload NAME` and tests use this table. */
import type { Trace } from '../trace.js';
import { bursty, BURSTY_REQUESTS } from './bursty.js';
import { cdn, CDN_REQUESTS } from './cdn.js';
import { drift, DRIFT_REQUESTS } from './drift.js';
import { loop, LOOP_REQUESTS } from './loop.js';
import { onehit, ONEHIT_REQUESTS } from './onehit.js';
import { scan, SCAN_REQUESTS } from './scan.js';
import { tenants, TENANTS_REQUESTS } from './tenants.js';
import { trap, TRAP_REQUESTS } from './trap.js';
import { ttl, TTL_REQUESTS } from './ttl.js';
import { video, VIDEO_REQUESTS } from './video.js';
import { zipf, ZIPF_REQUESTS } from './zipf.js';

export const WORKLOADS: Record<string, { summary: string; requests: number; generate: (seed: number, requests?: number) => Trace }> = {
  trap: { summary: "the Cold-RL paper's adversarial trap workload (2,000 objects, bursting large gems)", requests: TRAP_REQUESTS, generate: trap },
  bursty: { summary: 'periodic bursts of large returning objects over a Zipf core of mixed sizes', requests: BURSTY_REQUESTS, generate: bursty },
  scan: { summary: 'scans and one-hit wonders over a Zipf core, with uncacheable API calls', requests: SCAN_REQUESTS, generate: scan },
  drift: { summary: 'a Zipf catalogue whose popular objects change every 20,000 requests (popularity drift)', requests: DRIFT_REQUESTS, generate: drift },
  video: { summary: 'images beside whole videos: few huge objects hold most of the bytes', requests: VIDEO_REQUESTS, generate: video },
  cdn: { summary: 'a CDN day: a Zipf catalogue whose ranking turns slowly, log-normal sizes, mixed TTLs, a daily cycle', requests: CDN_REQUESTS, generate: cdn },
  zipf: { summary: 'Zipf(0.8) over 200,000 objects of one size, no TTL', requests: ZIPF_REQUESTS, generate: zipf },
  ttl: { summary: 'a Zipf core where 40% of the objects live 30-300 s and the rest hours to days', requests: TTL_REQUESTS, generate: ttl },
  loop: { summary: 'a Zipf hot set beside a cycle of 40,000 objects (LRU\'s worst case)', requests: LOOP_REQUESTS, generate: loop },
  onehit: { summary: '70% of requests to objects never requested again, 30% to a Zipf set', requests: ONEHIT_REQUESTS, generate: onehit },
  tenants: { summary: 'two sites behind one cache: many small objects, and few large ones holding the bytes', requests: TENANTS_REQUESTS, generate: tenants },
};
