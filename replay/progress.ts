/**
 * Progress of long work on stderr. On a terminal: a bar, shown once the work has run for more than
 * `delayMs` (2 s by default), redrawn at most 10 times a second. Elsewhere (a log file, cron, systemd, CI):
 * one plain line every `lineEveryMs` (30 s by default), so that a long run is seen to move. Costs one
 * Date.now() per update() call: call it every few thousand requests, not per request.
 */
export class Progress {
  private readonly start = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private readonly tty: boolean;
  private readonly delay: number;
  private readonly lineEvery: number;
  constructor(private readonly label: string, private readonly total: number, opts: { delayMs?: number; lineEveryMs?: number; force?: boolean } = {}) {
    this.tty = opts.force ?? (process.stderr.isTTY === true && !process.env.CI);
    this.delay = opts.delayMs ?? 2000;
    this.lineEvery = opts.lineEveryMs ?? 30_000;
    this.lastDraw = this.tty ? 0 : this.start;
  }

  update(done: number, extra = ''): void {
    const t = Date.now();
    if (this.tty ? t - this.start < this.delay || t - this.lastDraw < 100 : t - this.lastDraw < this.lineEvery) return;
    this.lastDraw = t;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const rate = done / Math.max(1e-3, (t - this.start) / 1000);
    const eta = rate > 0 && this.total > 0 ? ` eta ${((this.total - done) / rate).toFixed(0)}s` : '';
    const pct = this.total > 0 ? ` ${(frac * 100).toFixed(0)}%` : '';
    if (!this.tty) {
      process.stderr.write(`${this.label}:${pct} ${fmtCount(done)}${this.total > 0 ? `/${fmtCount(this.total)}` : ''}, ${fmtRate(rate)}/s${eta}, ${((t - this.start) / 1000).toFixed(0)}s${extra ? `, ${extra}` : ''}\n`);
      return;
    }
    this.drawn = true;
    const width = 24;
    const fill = Math.round(frac * width);
    const line = `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}]${pct} ${fmtRate(rate)}/s${eta} ${extra}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
  }
}

function fmtCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : String(Math.round(n));
}

function fmtRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return r.toFixed(1);
}
