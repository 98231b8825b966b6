import { fileURLToPath } from 'node:url';
import { writeHtmlReport } from '../report/node/command.js';
import { type TrainImageOptions, type TrainImageResult, trainImageClassifier } from './train-image.js';

/** The committed Fashion-MNIST subset: train/ (100 per class) and test/ (50 per class) class folders. */
export const DEMO_DATA = fileURLToPath(new URL('../../fixtures/fashion-mnist-small/', import.meta.url));

export interface DemoResult extends TrainImageResult {
  /** the HTML report, when it could be written */
  reportPath?: string;
  reportError?: string;
}

/**
 * `npm run demo`: transfer-trains an image classifier on the embedded Fashion-MNIST subset (10% of the
 * training images held out for validation and calibration), evaluates it on the held-out test folder and
 * writes the run folder with its HTML report.
 */
export async function runDemo(opts: Omit<TrainImageOptions, 'data'> & { data?: string }): Promise<DemoResult> {
  // the demo's folder is its own: a second demo replaces the first
  const result = await trainImageClassifier({
    strategy: 'linear-probe',
    overwrite: true,
    ...opts,
    data: opts.data ?? DEMO_DATA,
  });
  try {
    const written = await writeHtmlReport(result.runDir);
    return { ...result, reportPath: written.file };
  } catch (e) {
    // the model and metrics are the demo's result; a report that cannot be drawn is only mentioned
    return { ...result, reportError: (e as Error).message.split('\n')[0] };
  }
}
