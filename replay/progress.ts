/**
 * A progress bar on stderr, shown only when stderr is a terminal and the work has run for more than
 * `delayMs` (2 s by default), redrawn at most 10 times a second. Costs one Date.now() per update() call:
 * call it every few thousand requests, not per request.
 */
export class Progress {
  private readonly start = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private readonly enabled: boolean;
  constructor(private readonly label: string, private readonly total: number, opts: { delayMs?: number; force?: boolean } = {}) {
    this.enabled = opts.force ?? (process.stderr.isTTY === true && !process.env.CI);
    this.delay = opts.delayMs ?? 2000;
  }
  private readonly delay: number;

  update(done: number, extra = ''): void {
    if (!this.enabled) return;
    const t = Date.now();
    if (t - this.start < this.delay || t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.drawn = true;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const width = 24;
    const fill = Math.round(frac * width);
    const rate = done / ((t - this.start) / 1000);
    const eta = rate > 0 && this.total > 0 ? (this.total - done) / rate : 0;
    const line = `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0)}% ` +
      `${fmtRate(rate)}/s eta ${eta.toFixed(0)}s ${extra}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
  }
}

function fmtRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return r.toFixed(1);
}
