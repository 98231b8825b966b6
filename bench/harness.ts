export interface BenchResult {
  name: string;
  rows: Record<string, string | number>[];
  notes?: string[];
}

export interface BenchContext {
  log: (line: string) => void;
  args: string[];
}

export interface BenchModule {
  description: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** Median wall time in ms of `fn` over `repeats` runs after `warmup` runs. */
export async function timeMedian(fn: () => Promise<unknown> | unknown, repeats = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
