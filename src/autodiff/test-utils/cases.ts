// Table-driven gradient checks: one node:test test per row, failing with the checker's report.
import { test } from 'node:test';
import { assertGradCheck, gradCheck, type GradCheckCase } from '../gradcheck.js';
import { ortRunner } from './ort-runner.js';

export function gradCheckTable(family: string, rows: readonly GradCheckCase[]): void {
  rows.forEach((row, i) => {
    const shapes = row.inputs.map((x) => (x ? `[${x.shape.join(',')}]` : '-')).join(' ');
    const label =
      row.name ?? `${row.op} ${shapes} ${row.attrs ? JSON.stringify(row.attrs) : ''} opset ${row.opset ?? 17}`;
    test(`${family} #${i}: ${label}`, async () => {
      assertGradCheck(await gradCheck(row, ortRunner));
    });
  });
}

/** Broadcast pairs every binary elementwise rule is checked on (trailing alignment, size-1 axes, scalars). */
export const BROADCAST_PAIRS: readonly [number[], number[]][] = [
  [
    [3, 4],
    [3, 4],
  ],
  [[3, 4], [4]],
  [[4], [3, 4]],
  [
    [3, 1],
    [1, 4],
  ],
  [
    [2, 3, 4],
    [3, 1],
  ],
  [[1], [2, 3]],
  [[], [2, 3]],
  [[2, 3], []],
  [
    [2, 1, 4],
    [3, 1],
  ],
];
