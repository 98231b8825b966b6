import type { SourceEvent } from '../zoo/sources/events.js';
import type { CliIo } from './io.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One progress line: label, bar (when the total is known), bytes, speed and ETA. */
export function progressLine(
  label: string,
  bytes: number,
  total: number | undefined,
  seconds: number,
  width = 80,
): string {
  const speed = seconds > 0 ? bytes / seconds : 0;
  const rate = `${formatBytes(Math.round(speed))}/s`;
  if (total === undefined || total <= 0) return `${label}  ${formatBytes(bytes)}  ${rate}`.slice(0, width);
  const frac = Math.min(1, bytes / total);
  const eta = speed > 0 ? formatDuration((total - bytes) / speed) : '?';
  const tail = ` ${String(Math.floor(frac * 100)).padStart(3)}% ${formatBytes(bytes)}/${formatBytes(total)} ${rate} ETA ${eta}`;
  const barWidth = Math.max(10, Math.min(30, width - tail.length - label.length - 4));
  const filled = Math.round(frac * barWidth);
  const head =
    label.length > width - tail.length - barWidth - 4
      ? `${label.slice(0, Math.max(8, width - tail.length - barWidth - 7))}...`
      : label;
  return `${head} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`;
}

/**
 * Draws source events on stderr: a redrawn bar on a terminal, a start and an end line otherwise (logs
 * and CI output stay readable).
 */
export function progressRenderer(io: CliIo, now: () => number = Date.now): (e: SourceEvent) => void {
  const tty = io.stderr.isTTY === true;
  const width = Math.max(40, (io.stderr.columns ?? 80) - 1);
  const started = new Map<string, { at: number; from: number }>();
  let drawn = false;
  const clear = () => {
    if (drawn) io.stderr.write('\r\x1b[K');
    drawn = false;
  };
  return (e) => {
    switch (e.type) {
      case 'download-start': {
        started.set(e.label, { at: now(), from: e.resumedFrom ?? 0 });
        clear();
        const size = e.totalBytes !== undefined ? ` (${formatBytes(e.totalBytes)})` : '';
        const resumed = e.resumedFrom ? `, resuming at ${formatBytes(e.resumedFrom)}` : '';
        if (!tty) io.stderr.write(`downloading ${e.label}${size}${resumed}\n`);
        break;
      }
      case 'download-progress': {
        if (!tty) break;
        const s = started.get(e.label) ?? { at: now(), from: 0 };
        io.stderr.write(`\r${progressLine(e.label, e.bytes, e.totalBytes, (now() - s.at) / 1000, width)}\x1b[K`);
        drawn = true;
        break;
      }
      case 'download-retry':
        clear();
        io.stderr.write(
          `connection problem (${e.reason}); retry ${e.attempt}${e.resumeAt ? ` from ${formatBytes(e.resumeAt)}` : ''}\n`,
        );
        break;
      case 'download-end': {
        clear();
        const secs = e.ms / 1000;
        io.stderr.write(
          `downloaded ${e.label}: ${formatBytes(e.bytes)} in ${secs.toFixed(1)}s (${formatBytes(Math.round(e.bytes / Math.max(secs, 0.001)))}/s)\n`,
        );
        break;
      }
      case 'cache-hit':
        break;
      case 'cache-damaged':
        clear();
        io.stderr.write(
          `warning: the cached copy of ${e.label} is damaged (${e.found}); ${
            e.action === 'refetch' ? 'fetching it again' : e.action === 'rebuild' ? 'converting it again' : 'not used'
          }\n`,
        );
        break;
      case 'convert-start':
        clear();
        io.stderr.write(`converting ${e.label} to ONNX (${e.converter})...\n`);
        break;
      case 'convert-end':
        io.stderr.write(`converted ${e.label} in ${(e.ms / 1000).toFixed(1)}s\n`);
        break;
    }
  };
}
