/**
 * Busy polling of the socket thread (`coldrl serve --busy-poll-ms N`): after each answer the event loop
 * keeps turning for N ms (a setImmediate chain, so libuv polls its sockets with a zero timeout) instead of
 * sleeping in epoll. The next request is then read within microseconds of its arrival, and the model's code
 * and weights are still in the CPU caches when it runs: on the 2-core VM a sleeping thread paid a wake-up
 * and an inference about twice as slow (sidecar/README.md has the figures).
 *
 * The price is one CPU at 100% while requests keep coming at least every N ms; after N ms without one the
 * thread sleeps again. NGINX's cache manager asks in bursts (one request per eviction of a manager pass),
 * so a few milliseconds keep a burst hot and leave the CPU alone between passes. Off (0) by default.
 */
export class BusyPoller {
  /** performance.now() until which the loop keeps spinning. */
  private until = 0;
  private spinning = false;
  private stopped = false;
  private readonly spinFn = () => this.spin();

  constructor(private readonly windowMs: number) {}

  /** Called on each answer: spin for another window. */
  kick(now: number): void {
    if (this.windowMs <= 0 || this.stopped) return;
    this.until = now + this.windowMs;
    if (!this.spinning) { this.spinning = true; setImmediate(this.spinFn); }
  }

  private spin(): void {
    if (this.stopped || performance.now() >= this.until) { this.spinning = false; return; }
    setImmediate(this.spinFn);
  }

  stop(): void { this.stopped = true; }
}
