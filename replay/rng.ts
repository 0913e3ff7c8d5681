/**
 * Seeded pseudo-random numbers: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, 128-bit state,
 * as in PractRand), seeded through splitmix32 so that nearby seeds give unrelated streams. Deterministic
 * across platforms (32-bit integer arithmetic only). The workloads and the trainer share it.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = (seed >>> 0) ^ 0x9e3779b9;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next 32-bit unsigned integer. */
  u32(): number {
    const a = this.a, b = this.b, c = this.c;
    const t = (((a + b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.c = (r + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number { return this.u32() / 4294967296; }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.next(); }

  /** Integer uniform in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }

  /** Exponential with the given mean. */
  exp(mean: number): number { return -mean * Math.log(1 - this.next()); }

  /** True with probability p. */
  chance(p: number): boolean { return this.next() < p; }

  /** Log-normal: median x exp(sigma x a standard normal drawn by Box-Muller, two uniforms). */
  logNormal(median: number, sigma: number): number {
    const z = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return median * Math.exp(sigma * z);
  }
}

/**
 * Zipf(alpha) over ranks 0..n-1 by inverse-CDF lookup in a precomputed cumulative table (binary search, no
 * allocation per draw). Rank 0 is the most popular.
 */
export class Zipf {
  private readonly cdf: Float64Array;
  constructor(readonly n: number, alpha: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) { sum += 1 / Math.pow(k + 1, alpha); this.cdf[k] = sum; }
    for (let k = 0; k < n; k++) this.cdf[k] /= sum;
  }
  draw(rng: Rng): number {
    const u = rng.next();
    let lo = 0, hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! <= u) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
}
