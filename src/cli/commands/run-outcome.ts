import { describeKept } from '../../app/run-end.js';
import type { RunResult } from '../../app/run-end.js';

/** What a training command says at the end about the saved model: which epoch it is, and its temperature. */
export function outcomeLines(r: Pick<RunResult, 'kept' | 'temperature' | 'calibration'>): string[] {
  const lines: string[] = [];
  if (r.kept) lines.push(`kept           ${describeKept(r.kept)}`);
  if (r.temperature !== undefined) {
    const c = r.calibration;
    const t = Number(r.temperature.toPrecision(3));
    if (!c) lines.push(`temperature    ${t} (folded into the model)`);
    else if (c.kept)
      lines.push(
        `temperature    ${t} (fitted on ${c.examples} ${c.method === 'validation' ? 'validation' : 'out-of-fold'} predictions; lowers their cross-validated log loss ${c.nllBefore.toFixed(4)} -> ${c.nllAfter.toFixed(4)}; folded into the model)`,
      );
    else lines.push(`temperature    1 (none kept: ${c.reason})`);
  }
  return lines;
}
