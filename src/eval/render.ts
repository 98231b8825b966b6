import type { ClassificationReport } from './report.js';

export interface RenderOptions {
  /** names of the evaluated examples (file paths), indexed like the report's input rows */
  exampleNames?: readonly string[];
  /** print the confusion matrix only up to this many classes (default 12) */
  maxConfusionClasses?: number;
  /** worst examples to list (default 5) */
  maxTopLosses?: number;
  /** per-class rows to list; the rest are summarised (default 30) */
  maxClassRows?: number;
  digits?: number;
}

const NAME_WIDTH = 24;
const LINE_WIDTH = 120;

/** A compact plain-text summary for the terminal after training or evaluation. */
export function renderReport(report: ClassificationReport, options: RenderOptions = {}): string {
  const digits = options.digits ?? 4;
  const num = (v: number | null): string => (v === null ? '-' : v.toFixed(digits));
  const lines: string[] = [];

  lines.push(`${report.numExamples} examples, ${report.numClasses} classes`);
  const head = [`accuracy ${num(report.accuracy)}`];
  for (const t of report.topK) head.push(`top-${t.k} ${num(t.accuracy)}`);
  head.push(`log loss ${num(report.logLoss)}`, `ECE ${num(report.calibration.ece)}`);
  if (report.binary) {
    head.push(`F1(${report.binary.positiveClass}) ${num(report.binary.f1)}`, `ROC AUC ${num(report.binary.rocAuc)}`);
  } else {
    head.push(`ROC AUC macro ${num(report.rocAuc.macro)} weighted ${num(report.rocAuc.weighted)}`);
  }
  if (report.calibration.temperature !== undefined) head.push(`T ${report.calibration.temperature.toFixed(3)}`);
  lines.push(head.join('  '));
  lines.push('');

  const nameWidth =
    1 + Math.max('weighted avg'.length, ...report.labelNames.map((n) => Math.min(n.length, NAME_WIDTH)));
  const w = Math.max(digits + 3, 'precision'.length);
  const row = (name: string, cells: string[]): string =>
    (fit(name, nameWidth).padEnd(nameWidth) + cells.map((c) => c.padStart(w)).join(' ')).trimEnd();
  lines.push(row('class', ['precision', 'recall', 'f1', 'support', 'auc']));
  const maxRows = options.maxClassRows ?? 30;
  const shown = report.perClass.length > maxRows ? worstByF1(report, maxRows) : report.perClass.map((_, c) => c);
  for (const c of shown) {
    const r = report.perClass[c]!;
    lines.push(row(r.label, [num(r.precision), num(r.recall), num(r.f1), String(r.support), num(r.rocAuc)]));
  }
  if (shown.length < report.perClass.length) {
    lines.push(`(${report.perClass.length - shown.length} more classes; showing the ${shown.length} lowest F1)`);
  }
  const total = String(report.numExamples);
  lines.push(
    row('macro avg', [num(report.macro.precision), num(report.macro.recall), num(report.macro.f1), total, '']),
  );
  lines.push(
    row('weighted avg', [
      num(report.weighted.precision),
      num(report.weighted.recall),
      num(report.weighted.f1),
      total,
      '',
    ]),
  );

  if (report.numClasses <= (options.maxConfusionClasses ?? 12)) {
    lines.push('', 'confusion (rows: actual, columns: predicted)');
    // as wide as the names need, within about a terminal line, never narrower than the counts
    const countWidth = Math.max(...report.confusion.flat().map((v) => String(v).length + 1));
    const longest = Math.max(...report.labelNames.map((n) => n.length)) + 1;
    const cw = Math.max(countWidth, 5, Math.min(longest, Math.floor((LINE_WIDTH - nameWidth) / report.numClasses)));
    const short = report.labelNames.map((n) => fit(n, cw - 1));
    lines.push(' '.repeat(nameWidth) + short.map((n) => n.padStart(cw)).join(''));
    report.confusion.forEach((counts, c) => {
      lines.push(
        fit(report.labelNames[c]!, nameWidth).padEnd(nameWidth) + counts.map((v) => String(v).padStart(cw)).join(''),
      );
    });
  }

  const losses = report.topLosses.slice(0, options.maxTopLosses ?? 5);
  if (losses.length > 0) {
    lines.push('', 'top losses');
    for (const t of losses) {
      const name = options.exampleNames?.[t.index];
      const actual = report.labelNames[t.actual]!;
      const predicted = report.labelNames[t.predicted]!;
      lines.push(
        `  #${t.index}  loss ${t.loss.toFixed(3)}  actual ${actual} (p=${t.actualProbability.toFixed(3)})` +
          `  predicted ${predicted} (p=${t.predictedProbability.toFixed(3)})` +
          (name !== undefined ? `  ${name}` : ''),
      );
    }
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

function fit(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, width - 1) + '…';
}

/** Indices of the classes with the lowest F1 (the ones worth looking at), in class order. */
function worstByF1(report: ClassificationReport, count: number): number[] {
  const order = report.perClass.map((_, c) => c);
  order.sort((a, b) => report.perClass[a]!.f1 - report.perClass[b]!.f1 || a - b);
  return order.slice(0, count).sort((a, b) => a - b);
}
