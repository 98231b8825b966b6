import type { WorkerEvent } from '../../app/queue.js';
import type { CommandContext, WorkerSettings } from '../commands.js';
import type { CliIo } from '../io.js';
import { runSettings } from '../run-settings.js';

export async function run({ app, options, io }: CommandContext<WorkerSettings>): Promise<number> {
  // SIGINT or SIGTERM (Ctrl-C, a Kubernetes pod stopping): finish the run in hand, take no other
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { limits: _unused, ...host } = runSettings(options, io);
    const r = await app.runQueueWorker({
      ...host,
      queue: options.queue,
      queueName: options.queueName,
      lockSeconds: options.lockSeconds,
      idleExit: options.idleExit,
      maxRuns: options.maxRuns,
      signal: stop.signal,
      onEvent: options.quiet ? undefined : workerRenderer(io),
    });
    if (options.json) io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else io.stdout.write(`worker stopped (${r.stopped}): ${r.processed} runs done, ${r.failed} failed\n`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function workerRenderer(io: CliIo): (e: WorkerEvent) => void {
  const pid = process.pid;
  return (e) => {
    const line = (s: string) => io.stderr.write(`[worker ${pid}] ${s}\n`);
    switch (e.type) {
      case 'ready':
        return line(`waiting for runs on ${e.queue} (queue ${e.name})`);
      case 'run-start':
        return line(`run ${e.run} (job ${e.job}, attempt ${e.attempt})`);
      case 'run-done':
        return line(`done ${e.run}: test accuracy ${(100 * e.testAcc).toFixed(2)}% in ${e.seconds.toFixed(1)}s`);
      case 'run-failed':
        return line(`failed ${e.run}: ${e.error}${e.retry ? ' (to be retried)' : ' (not retried)'}`);
      case 'idle':
        return;
      case 'stopping':
        return line(`stopping (${e.reason})`);
    }
  };
}
