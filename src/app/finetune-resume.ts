// What an interrupted fine-tune leaves in its run folder to be continued: the settings it started with
// (settings.json) and its progress after the last finished epoch (progress.ckpt, written atomically).
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { writeFileAtomic, writeFileAtomicAsync } from '../node/atomic.js';
import { decodeRecord, encodeRecord } from '../train/checkpoint.js';
import type { FineTuneProgress } from '../transfer/finetune/run.js';
import { sha256Hex } from '../zoo/sources/node/cache.js';
import type { FineTuneImageSettings } from './finetune-setup.js';
import { RESUME_DIR } from './run-folder.js';

const SETTINGS = 'settings.json';
const PROGRESS = 'progress.ckpt';
const PROGRESS_KIND = 'graft.finetune-progress';

/** The settings of a run that a resume takes from the run folder (the runtime ones come from the new command). */
const SAVED: Record<string, 'string' | 'number' | 'boolean'> = {
  data: 'string',
  model: 'string',
  cut: 'string',
  resize: 'string',
  inputSize: 'number',
  strategy: 'string',
  unfreeze: 'string',
  freeze: 'string',
  bn: 'string',
  head: 'string',
  epochs: 'number',
  lr: 'number',
  headEpochs: 'number',
  probeEpochs: 'number',
  discriminative: 'number',
  anchor: 'number',
  interpolate: 'number',
  schedule: 'string',
  batchSize: 'number',
  weightDecay: 'number',
  labelSmoothing: 'number',
  seed: 'number',
  valSplit: 'number',
  testSplit: 'number',
  fromScratch: 'boolean',
  augment: 'boolean',
  extractBatch: 'number',
  modelsFile: 'string',
};

/** A resumable run's settings: the recipe's settings with `data` absolute, plus what must not change. */
export interface SavedFineTune extends FineTuneImageSettings {
  data: string;
  /** the backbone's content hash and the data set's fingerprint when the run started */
  baseModelSha256?: string;
  dataFingerprint?: string;
}

export function resumeDir(runDir: string): string {
  return join(runDir, RESUME_DIR);
}

/** Writes the settings a resume needs (atomically), before training starts. */
export function saveResumeSettings(runDir: string, settings: SavedFineTune): void {
  const dir = resumeDir(runDir);
  mkdirSync(dir, { recursive: true });
  const kept: Record<string, unknown> = {};
  for (const key of [...Object.keys(SAVED), 'baseModelSha256', 'dataFingerprint']) {
    const v = (settings as unknown as Record<string, unknown>)[key];
    if (v !== undefined) kept[key] = v;
  }
  writeFileAtomic(join(dir, SETTINGS), new TextEncoder().encode(JSON.stringify(kept, null, 1) + '\n'));
}

/** Reads and checks the settings an interrupted run saved; anything unexpected is a GraftError naming the file. */
export function readResumeSettings(runDir: string): SavedFineTune {
  const file = join(resumeDir(runDir), SETTINGS);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GraftError('CHECKPOINT', 'The interrupted run has no readable settings', {
      file,
      found: (e as NodeJS.ErrnoException).code ?? 'not JSON',
      fix: 'start the run again without --resume (add --overwrite)',
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GraftError('CHECKPOINT', 'The interrupted run has damaged settings', {
      file,
      expected: 'a JSON object',
      fix: 'start the run again without --resume (add --overwrite)',
    });
  }
  const want: Record<string, string> = { ...SAVED, baseModelSha256: 'string', dataFingerprint: 'string' };
  for (const [key, value] of Object.entries(parsed)) {
    if (want[key] === undefined || typeof value !== want[key]) {
      throw new GraftError('CHECKPOINT', 'The interrupted run has damaged settings', {
        file,
        value: key,
        expected: want[key] ? `a ${want[key]}` : `one of the saved settings: ${Object.keys(want).join(', ')}`,
        found: typeof value,
        fix: 'start the run again without --resume (add --overwrite)',
      });
    }
  }
  const saved = parsed as SavedFineTune;
  if (typeof saved.data !== 'string') {
    throw new GraftError('CHECKPOINT', 'The interrupted run does not say which data it trained on', {
      file,
      fix: 'start the run again without --resume (add --overwrite)',
    });
  }
  return { ...saved, data: resolve(runDir, saved.data) };
}

/** Saves fine-tuning progress atomically (called after every epoch). */
export async function saveProgress(runDir: string, p: FineTuneProgress): Promise<void> {
  await writeFileAtomicAsync(join(resumeDir(runDir), PROGRESS), encodeRecord(PROGRESS_KIND, p));
}

/** The last saved progress of an interrupted run, or undefined when it stopped before its first epoch ended. */
export function readProgress(runDir: string): FineTuneProgress | undefined {
  const file = join(resumeDir(runDir), PROGRESS);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GraftError('IO', 'Cannot read the progress of the interrupted run', { file, cause: e });
  }
  const p = decodeRecord(bytes, PROGRESS_KIND, file) as Partial<FineTuneProgress>;
  if (
    typeof p.phasesDone !== 'number' ||
    typeof p.params !== 'object' ||
    !Array.isArray(p.history) ||
    !Array.isArray(p.phases)
  ) {
    throw new GraftError('CHECKPOINT', 'The progress of the interrupted run is incomplete', {
      file,
      fix: 'start the run again without --resume (add --overwrite)',
    });
  }
  return p as FineTuneProgress;
}

/** A fingerprint of the images of each split, so a resume can tell that the data set changed. */
export function dataFingerprint(
  items: Record<'train' | 'val' | 'test', readonly { id: string; hash: string }[]>,
): string {
  return sha256Hex(
    JSON.stringify(['train', 'val', 'test'].map((s) => items[s as 'train'].map((it) => [it.id, it.hash]))),
  );
}
