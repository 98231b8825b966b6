// Prometheus text exposition (format 0.0.4) for `graft serve`: a few counters and histograms written by hand,
// which is all a model server needs; a metrics library would bring a registry, default process collectors and
// more dependencies than the 100 lines here. Label values come only from a fixed set (routes, status codes), never
// from request content, so a client cannot blow up the series count with made-up URLs.

/** Upper bounds of the latency buckets, in seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

class Histogram {
  readonly counts: number[];
  sum = 0;
  n = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.n++;
    const i = this.bounds.findIndex((b) => v <= b);
    if (i >= 0) this.counts[i]!++;
  }
  lines(name: string, labels: string): string[] {
    const out: string[] = [];
    let cumulative = 0;
    this.bounds.forEach((b, i) => {
      cumulative += this.counts[i]!;
      out.push(`${name}_bucket{${joinLabels(labels, `le="${b}"`)}} ${cumulative}`);
    });
    out.push(`${name}_bucket{${joinLabels(labels, 'le="+Inf"')}} ${this.n}`);
    out.push(`${name}_sum${labels ? `{${labels}}` : ''} ${this.sum}`);
    out.push(`${name}_count${labels ? `{${labels}}` : ''} ${this.n}`);
    return out;
  }
}

function joinLabels(a: string, b: string): string {
  return a ? `${a},${b}` : b;
}

/** The server's measurements: requests by route and status, latency, batch sizes, rejected requests. */
export class ServeMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly batchSizes = new Histogram(BATCH_BUCKETS);
  private readonly batchSeconds = new Histogram(LATENCY_BUCKETS);

  constructor(
    private readonly info: { model: string; kind: string; maxBatch: number; maxQueue: number },
    private readonly gauges: { inFlight: () => number; waiting: () => number },
  ) {}

  request(route: string, status: number, seconds: number): void {
    const key = `route="${route}",code="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = new Histogram(LATENCY_BUCKETS)));
    h.observe(seconds);
  }

  batch(size: number, seconds: number): void {
    this.batchSizes.observe(size);
    this.batchSeconds.observe(seconds);
  }

  /** how many requests got `status` on `route` so far */
  count(route: string, status: number): number {
    return this.requests.get(`route="${route}",code="${status}"`) ?? 0;
  }

  render(): string {
    const out: string[] = [];
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    out.push('# HELP graft_model_info The model being served.', '# TYPE graft_model_info gauge');
    out.push(`graft_model_info{model="${esc(this.info.model)}",kind="${this.info.kind}"} 1`);
    out.push('# HELP graft_http_requests_total HTTP requests answered, by route and status code.');
    out.push('# TYPE graft_http_requests_total counter');
    for (const [k, v] of [...this.requests].sort()) out.push(`graft_http_requests_total{${k}} ${v}`);
    out.push('# HELP graft_http_errors_total HTTP requests answered with an error status (4xx, 5xx), by code.');
    out.push('# TYPE graft_http_errors_total counter');
    const byCode = new Map<string, number>();
    for (const [k, v] of this.requests) {
      const code = /code="(\d+)"/.exec(k)![1]!;
      if (Number(code) >= 400) byCode.set(code, (byCode.get(code) ?? 0) + v);
    }
    for (const [code, v] of [...byCode].sort()) out.push(`graft_http_errors_total{code="${code}"} ${v}`);
    out.push('# HELP graft_http_request_duration_seconds Time from request to response, by route.');
    out.push('# TYPE graft_http_request_duration_seconds histogram');
    for (const [route, h] of [...this.latency].sort(([a], [b]) => a.localeCompare(b)))
      out.push(...h.lines('graft_http_request_duration_seconds', `route="${route}"`));
    out.push('# HELP graft_batch_size Requests per model run.', '# TYPE graft_batch_size histogram');
    out.push(...this.batchSizes.lines('graft_batch_size', ''));
    out.push(
      '# HELP graft_batch_duration_seconds Time of one model run.',
      '# TYPE graft_batch_duration_seconds histogram',
    );
    out.push(...this.batchSeconds.lines('graft_batch_duration_seconds', ''));
    out.push('# HELP graft_requests_in_flight Prediction requests being handled (the bounded queue).');
    out.push('# TYPE graft_requests_in_flight gauge', `graft_requests_in_flight ${this.gauges.inFlight()}`);
    out.push('# HELP graft_requests_waiting Prediction requests waiting for a batch.');
    out.push('# TYPE graft_requests_waiting gauge', `graft_requests_waiting ${this.gauges.waiting()}`);
    out.push('# HELP graft_queue_capacity Most prediction requests handled at once; more get 503.');
    out.push('# TYPE graft_queue_capacity gauge', `graft_queue_capacity ${this.info.maxQueue}`);
    out.push('# HELP graft_max_batch Most requests per model run.');
    out.push('# TYPE graft_max_batch gauge', `graft_max_batch ${this.info.maxBatch}`);
    return out.join('\n') + '\n';
  }
}
