// Answers handled in the order they were asked for, whether they come at once
// or later: the live transcriber asks its voice detector (which may answer
// from another process) and must route the audio in arrival order. A failed
// answer counts as the fallback value; after abort nothing more is handled.
export class InOrder<T> {
  private queue: Promise<void> | undefined;

  constructor(
    private readonly signal: AbortSignal,
    private readonly fallback: () => T,
  ) {}

  /**
   * Runs `then` with the answer, after every earlier one: at once when the
   * answer is synchronous and nothing is waiting, else in a chain. `ask` is
   * called at once (the answerer keeps its own order).
   */
  run(ask: () => T | Promise<T>, then: (answer: T) => void): void {
    if (this.signal.aborted) return;
    const answer = ask();
    if (!this.queue && !(answer instanceof Promise)) return then(answer);
    const settled = Promise.resolve(answer).catch(this.fallback);
    const mine = (this.queue ?? Promise.resolve()).then(async () => {
      const found = await settled;
      if (!this.signal.aborted) then(found);
    });
    this.queue = mine;
    void mine.then(() => {
      if (this.queue === mine) this.queue = undefined;
    });
  }
}
