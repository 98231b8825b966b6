// A bounded load generator for the serving tests and benchmark: `concurrency` clients, each sending its next
// request when the last one is answered, until `requests` are sent or the deadline passes. Loopback only.
import { authHeader } from './hostile.js';

export interface LoadOptions {
  concurrency: number;
  requests: number;
  /** request bodies, used in turn */
  bodies: readonly Buffer[];
  contentType?: string;
  token?: string;
  /** stop sending after this many ms */
  deadlineMs: number;
}

export interface LoadResult {
  concurrency: number;
  requests: number;
  seconds: number;
  /** answered requests per second */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  /** how many requests got each status */
  statuses: Record<number, number>;
}

export async function drive(base: string, o: LoadOptions): Promise<LoadResult> {
  const url = new URL('/predict', base);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('load tests stay on loopback');
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const bodies = o.bodies.map((b) => new Uint8Array(b));
  let sent = 0;
  const t0 = performance.now();
  const deadline = t0 + o.deadlineMs;
  const client = async () => {
    while (sent < o.requests && performance.now() < deadline) {
      const body = bodies[sent++ % bodies.length]!;
      const start = performance.now();
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': o.contentType ?? 'image/png', ...authHeader(o.token) },
        body,
      });
      await r.arrayBuffer();
      latencies.push(performance.now() - start);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, client));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return {
    concurrency: o.concurrency,
    requests: latencies.length,
    seconds,
    throughput: latencies.length / seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    statuses,
  };
}
