import { summariseIssues } from '../../data/report.js';
import type { TrainImageEvent } from '../../app/train-image.js';
import { formatEpoch } from '../../app/train-image.js';
import type { CliIo } from '../io.js';
import { formatDuration } from '../progress.js';

export interface CountProgress {
  done: number;
  total: number;
  /** items per second */
  rate: number;
  etaSeconds: number;
}

/** One progress line for counted work: bar, count, rate and ETA. */
export function countLine(label: string, p: CountProgress, unit: string, width = 80, extra = ''): string {
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const tail = ` ${String(Math.floor(frac * 100)).padStart(3)}% ${p.done}/${p.total}  ${p.rate.toFixed(1)} ${unit}/s  ETA ${formatDuration(p.etaSeconds)}${extra}`;
  const barWidth = Math.max(10, Math.min(30, width - tail.length - label.length - 4));
  const filled = Math.round(frac * barWidth);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`.slice(0, width);
}

/**
 * Draws counted progress on stderr: a redrawn line on a terminal; elsewhere (logs, CI) a line at every
 * tenth of the work, so a long run still shows its rate and ETA without flooding the log.
 */
export function countRenderer(io: CliIo, label: string, unit: string) {
  const tty = io.stderr.isTTY === true;
  const width = Math.max(40, (io.stderr.columns ?? 80) - 1);
  let lastTenth = -1;
  let drawn = false;
  return {
    update(p: CountProgress, extra = ''): void {
      if (tty) {
        io.stderr.write(`\r${countLine(label, p, unit, width, extra)}\x1b[K`);
        drawn = true;
        return;
      }
      const tenth = Math.floor((10 * p.done) / Math.max(1, p.total));
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.stderr.write(`${countLine(label, p, unit, 120, extra)}\n`);
      }
    },
    /** clears a redrawn line so the next message starts on a clean line */
    end(): void {
      if (drawn) io.stderr.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** Renders `trainImageClassifier` events on stderr (nothing when quiet). */
export function trainEventRenderer(io: CliIo, quiet: boolean): (e: TrainImageEvent) => void {
  if (quiet) return () => undefined;
  const tty = io.stderr.isTTY === true;
  const extract = countRenderer(io, 'features', 'img');
  return (e) => {
    switch (e.type) {
      case 'stage':
        extract.end();
        io.stderr.write(`${e.message}\n`);
        break;
      case 'dataset': {
        const r = e.report;
        const s = r.counts.perSplit;
        io.stderr.write(
          `${r.counts.usable} usable images of ${r.counts.found}, ${r.classes.length} classes, train/val/test ${s.train}/${s.val}/${s.test}\n`,
        );
        for (const line of summariseIssues(r.issues)) io.stderr.write(`  warning: ${line}\n`);
        break;
      }
      case 'issue':
        break;
      case 'extract': {
        const p = e.progress;
        extract.update(
          { done: p.done, total: p.total, rate: p.rate, etaSeconds: p.etaSeconds },
          p.reused ? `  (${p.reused} cached)` : '',
        );
        break;
      }
      case 'extract-done':
        extract.end();
        io.stderr.write(
          e.computed === 0
            ? `features: all ${e.reused} from the cache (backbone not run)\n`
            : `features: ${e.computed} computed in ${e.seconds.toFixed(1)}s (${(e.imagesPerSecond ?? 0).toFixed(1)} img/s), ${e.reused} from the cache${e.failed ? `, ${e.failed} failed to decode` : ''}\n`,
        );
        break;
      case 'epoch': {
        const line = formatEpoch(e.record, e.epochs);
        const step = Math.max(1, Math.round(e.epochs / 10));
        if (tty) {
          io.stderr.write(`\r${line}\x1b[K`);
          if (e.record.epoch === e.epochs) io.stderr.write('\n');
        } else if (e.record.epoch % step === 0 || e.record.epoch === e.epochs || e.record.epoch === 1) {
          io.stderr.write(`${line}\n`);
        }
        break;
      }
    }
  };
}
