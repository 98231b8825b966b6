// Builds a believable run folder for tests: a seeded, over-confident classifier's scores run through
// the real eval/ metrics, a training history, and (for image runs) small PNG files to thumbnail.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { applyTemperature, classificationReport, fitTemperature, calibration, softmax } from '../../eval/index.js';
import { gaussian, mulberry32 } from '../../util/rng.js';
import type { HistoryRow, RunMetrics, TopLossEntry } from '../run-folder.js';
import { type RunFolderContents, writeRunFolder } from '../node/run-folder.js';

export interface SyntheticRunOptions {
  classes?: string[];
  kind?: 'image' | 'text';
  epochs?: number;
  /** examples per class in each evaluation split */
  perClass?: number;
  seed?: number;
  val?: boolean;
  test?: boolean;
  topLosses?: number;
  badFiles?: number;
}

export const DEFAULT_CLASSES = ['cat', 'dog', 'fox', 'owl', 'yak'];

const COLOURS: [number, number, number][] = [
  [230, 120, 40],
  [60, 110, 220],
  [200, 60, 60],
  [90, 160, 90],
  [150, 90, 190],
  [40, 170, 170],
];

/** Scores of a classifier that is right about 80% of the time and too sure of itself (T ≈ 2 fixes it). */
function scores(classes: number, perClass: number, rng: () => number): { logits: number[][]; labels: number[] } {
  const normal = gaussian(rng);
  const logits: number[][] = [];
  const labels: number[] = [];
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < perClass; i++) {
      const row = Array.from({ length: classes }, () => normal() * 1.6);
      row[c]! += 2.2;
      logits.push(row.map((v) => v * 2.2));
      labels.push(c);
    }
  }
  return { logits, labels };
}

function history(epochs: number, rng: () => number, withVal: boolean): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (let e = 1; e <= epochs; e++) {
    const p = e / epochs;
    const trainLoss = 1.6 * Math.exp(-2.6 * p) + 0.08 + rng() * 0.03;
    const row: HistoryRow = {
      epoch: e,
      trainLoss,
      trainAcc: Math.min(0.99, 0.35 + 0.6 * (1 - Math.exp(-3 * p)) + rng() * 0.01),
      lr: 1e-3 * 0.5 * (1 + Math.cos((Math.PI * (e - 1)) / epochs)),
      steps: e * 40,
      seconds: 3 + rng(),
    };
    if (withVal) {
      row.valLoss = 1.5 * Math.exp(-2.2 * p) + 0.25 + 0.12 * p * p + rng() * 0.04;
      row.valAcc = Math.min(0.97, 0.32 + 0.52 * (1 - Math.exp(-3 * p)) + rng() * 0.02);
    }
    rows.push(row);
  }
  return rows;
}

async function writeImage(file: string, colour: [number, number, number], variant: number): Promise<void> {
  const w = 160;
  const h = 120;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const inside = Math.abs(x - 80 - (variant % 5) * 6) < 30 && Math.abs(y - 60) < 30;
      const shade = 0.55 + 0.45 * (y / h);
      for (let k = 0; k < 3; k++) px[o + k] = inside ? 255 - colour[k]! / 2 : Math.round(colour[k]! * shade);
    }
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(file);
}

/**
 * Writes a complete run folder into `dir` (image files into `dir/data`) and returns what was written.
 * Everything derives from `seed`, so two calls with the same options write the same bytes.
 */
export async function writeSyntheticRun(dir: string, options: SyntheticRunOptions = {}): Promise<RunFolderContents> {
  const classes = options.classes ?? DEFAULT_CLASSES;
  const kind = options.kind ?? 'image';
  const epochs = options.epochs ?? 12;
  const perClass = options.perClass ?? 30;
  const rng = mulberry32(options.seed ?? 7);
  const withVal = options.val ?? true;
  const withTest = options.test ?? true;
  const dataDir = join(dir, 'data');

  const metrics: RunMetrics = {};
  let temperature: number | undefined;
  const val = scores(classes.length, perClass, rng);
  const test = scores(classes.length, perClass, rng);
  if (withVal) {
    metrics.val = classificationReport({ scores: val.logits, kind: 'logits', labels: val.labels, labelNames: classes });
    const fit = fitTemperature(val.logits, val.labels);
    temperature = fit.temperature;
    const on = withTest ? test : val;
    const before = calibration(softmax(on.logits), on.labels);
    const after = calibration(softmax(applyTemperature(on.logits, temperature)), on.labels);
    metrics.calibration = {
      split: withTest ? 'test' : 'val',
      temperature,
      eceBefore: before.ece,
      eceAfter: after.ece,
      binsBefore: before.bins,
      binsAfter: after.bins,
    };
  }
  let names: string[] = [];
  if (withTest) {
    metrics.test = classificationReport({
      scores: test.logits,
      kind: 'logits',
      labels: test.labels,
      labelNames: classes,
      topLosses: options.topLosses ?? 12,
      ...(temperature !== undefined ? { temperature } : {}),
    });
    names = test.labels.map(
      (c, i) => `${classes[c]}/${String(i).padStart(4, '0')}.${kind === 'image' ? 'png' : 'txt'}`,
    );
  }

  const topLosses: TopLossEntry[] = (metrics.test?.topLosses ?? []).map((t) => {
    const e: TopLossEntry = {
      file: names[t.index]!,
      actual: classes[t.actual]!,
      predicted: classes[t.predicted]!,
      prob: t.predictedProbability,
      actualProb: t.actualProbability,
      loss: t.loss,
      split: 'test',
    };
    if (kind === 'text') {
      e.text = `Example ${t.index} about ${classes[t.actual]}: the quick brown fox jumps over the lazy dog. `.repeat(3);
    }
    return e;
  });
  if (kind === 'image') {
    for (const t of topLosses) {
      mkdirSync(join(dataDir, t.actual), { recursive: true });
      const c = classes.indexOf(t.actual);
      await writeImage(join(dataDir, t.file), COLOURS[c % COLOURS.length]!, topLosses.indexOf(t));
    }
  }

  const counts = Object.fromEntries(
    classes.map((c, i) => [
      c,
      { train: 40 + ((i * 7) % 23), val: withVal ? perClass : 0, test: withTest ? perClass : 0 },
    ]),
  );
  const badFiles = Array.from({ length: options.badFiles ?? 3 }, (_, i) => ({
    path: `${classes[i % classes.length]}/broken-${i}.jpg`,
    reason: i % 2 === 0 ? 'corrupt: JPEG ends early' : 'empty (0-byte) file',
  }));
  const hist = epochs > 0 ? history(epochs, rng, withVal) : [];
  const trainSeconds = hist.reduce((s, r) => s + r.seconds, 0);
  const contents: RunFolderContents = {
    run: {
      graftVersion: '0.1.0',
      createdAt: '2025-05-01T09:30:00.000Z',
      model: 'mobilenet_v2.imagenet',
      strategy: 'fine-tune',
      head: 'linear',
      config: {
        epochs,
        lr: 1e-3,
        batch: 32,
        seed: options.seed ?? 7,
        optimizer: 'adamw',
        weightDecay: 0.01,
        unfreeze: 'block_13*',
      },
      data: { kind, source: dataDir, classes, counts, badFiles },
      timing: {
        totalSeconds: trainSeconds + 21.5,
        featureSeconds: 14.2,
        trainSeconds,
        throughput: { imagesPerSecond: 352.4, trainExamplesPerSecond: 118.9 },
      },
      device: 'cpu (2 threads)',
      ...(temperature !== undefined ? { temperature } : {}),
    },
    history: hist,
    metrics,
    topLosses,
  };
  writeRunFolder(dir, contents);
  return contents;
}
