// How late the hub's event loop runs (the one number that says whether
// anything blocks it): percentiles over each second, from Node's own
// histogram (perf_hooks.monitorEventLoopDelay).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class LoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  last: LoopLag = { p50Ms: 0, p99Ms: 0, maxMs: 0 };

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private sample(): void {
    // The histogram counts the 10 ms sampling interval itself: subtract it.
    const lag = (ns: number) => Math.max(0, Math.round((ns / 1e6 - 10) * 100) / 100);
    this.last = { p50Ms: lag(this.histogram.percentile(50)), p99Ms: lag(this.histogram.percentile(99)), maxMs: lag(this.histogram.max) };
    this.histogram.reset();
  }
}
