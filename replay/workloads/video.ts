/**
 * Images beside whole videos: 70% of requests go to 20,000 small objects (Zipf 0.8, log-normal sizes,
 * median 8 KB, sigma 1), 30% to 2,000 videos of 5-50 MB (Zipf 0.6). The videos hold almost all the bytes
 * and are few by count, so uniform draws of residents seldom meet them (docs/candidates.md, `weighted`).
 * TTL one day, inter-arrival gaps Exp(mean 50 ms).
 */
import { Rng, Zipf } from '../rng.js';
import type { Trace } from '../trace.js';
import { baseLatency, originRtt, TraceBuilder } from './build.js';

export const VIDEO_REQUESTS = 200_000;
const SMALL = 20_000, VIDEOS = 2_000;

export function video(seed: number, requests = VIDEO_REQUESTS): Trace {
  const rng = new Rng(seed);
  const smallSize = new Float64Array(SMALL), videoSize = new Float64Array(VIDEOS);
  const smallBase = new Float64Array(SMALL), videoBase = new Float64Array(VIDEOS);
  for (let o = 0; o < SMALL; o++) {
    smallSize[o] = Math.max(100, rng.logNormal(8_000, 1));
    smallBase[o] = baseLatency(rng);
  }
  for (let o = 0; o < VIDEOS; o++) {
    videoSize[o] = rng.uniform(5e6, 50e6);
    videoBase[o] = baseLatency(rng);
  }
  const small = new Zipf(SMALL, 0.8), videos = new Zipf(VIDEOS, 0.6);
  const smallKeys = Array.from({ length: SMALL }, (_, o) => `/img/${o}`);
  const videoKeys = Array.from({ length: VIDEOS }, (_, o) => `/video/${o}`);
  const b = new TraceBuilder(`video(seed=${seed})`, requests);
  for (let i = 0; i < requests; i++) {
    b.tick(rng, 50);
    if (rng.chance(0.3)) {
      const o = videos.draw(rng);
      b.push(videoKeys[o]!, videoSize[o]!, 86_400, originRtt(rng, videoBase[o]!, videoSize[o]!));
    } else {
      const o = small.draw(rng);
      b.push(smallKeys[o]!, smallSize[o]!, 86_400, originRtt(rng, smallBase[o]!, smallSize[o]!));
    }
  }
  return b.finish();
}
