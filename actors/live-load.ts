// How busy live passes keep the engines: engine time each open session used
// over the last few seconds, as a share of what the workers can give. The
// admission of new live sessions looks at it, so that when the engines cannot
// keep up in real time a new stream is refused rather than everyone slowing
// down. A session that ends stops counting at once.
const WINDOW_MS = 10_000;

export class LiveLoad {
  private readonly passes = new Map<string, { at: number; ms: number }[]>();

  /** `slots`: what the engines run at once now (in cluster mode it changes as engine nodes come and go) */
  constructor(private readonly slots: () => number) {}

  record(sessionId: string, engineMs: number, now = Date.now()): void {
    const list = this.passes.get(sessionId) ?? [];
    list.push({ at: now, ms: engineMs });
    this.passes.set(sessionId, list);
  }

  end(sessionId: string): void {
    this.passes.delete(sessionId);
  }

  /** 0 (idle) to 1 (every worker busy with the open sessions' passes all the time). */
  utilization(now = Date.now()): number {
    let busy = 0;
    for (const list of this.passes.values()) {
      while (list.length && list[0]!.at < now - WINDOW_MS) list.shift();
      for (const p of list) busy += p.ms;
    }
    return busy / (WINDOW_MS * Math.max(1, this.slots()));
  }
}
