/**
 * Dynamic batching for a model behind a server: requests that arrive while the model is busy run together as the
 * next batch, up to `maxBatch` at a time. While the model is idle, the first request waits for others only when
 * more are on their way (`coming()`: requests still being decoded), and at most `maxDelayMs`: a lone request
 * never waits for company that is not coming. One batch runs at a time: onnxruntime already spreads one run over
 * every core, so batches side by side would only compete. With `maxBatch` 1 every request runs alone (the
 * unbatched baseline).
 */
export class Batcher<I, O> {
  private pending: { item: I; done: (o: O) => void; fail: (e: unknown) => void }[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    readonly maxBatch: number,
    readonly maxDelayMs: number,
    private readonly onBatch?: (size: number, seconds: number) => void,
    private readonly coming: () => number = () => 0,
  ) {}

  /** a request on its way has arrived or given up: the idle model may not need to wait any longer */
  nudge(): void {
    this.schedule();
  }

  /** requests waiting for a batch (not counting the one running) */
  get waiting(): number {
    return this.pending.length;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((done, fail) => {
      this.pending.push({ item, done, fail });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return;
    if (this.pending.length >= this.maxBatch || this.maxDelayMs <= 0 || this.coming() === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
    } else this.timer ??= setTimeout(() => void this.flush(), this.maxDelayMs);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.pending.length === 0) return;
    this.running = true;
    const batch = this.pending.splice(0, this.maxBatch);
    const t0 = performance.now();
    try {
      const out = await this.run(batch.map((b) => b.item));
      batch.forEach((b, i) => b.done(out[i]!));
    } catch (e) {
      batch.forEach((b) => b.fail(e));
    } finally {
      this.onBatch?.(batch.length, (performance.now() - t0) / 1000);
      this.running = false;
      // what arrived during the run has waited already: it goes at once, as one batch
      if (this.pending.length) {
        clearTimeout(this.timer);
        this.timer = undefined;
        void this.flush();
      }
    }
  }
}
