import { resolve } from 'node:path';
import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import { carveMissingSplits } from '../data/dataset.js';
import { type TextDataset, type TextItem, loadTextDataset } from '../data/node/text.js';
import type { DatasetIssue, Split } from '../data/report.js';
import {
  type RunResult,
  type ScoredSplit,
  type SplitSummary,
  checkFraction,
  endRun,
  formatEpoch,
  runRecord,
  startRun,
} from './run-end.js';
import { type RunFolderChoice, checkRunFolder } from './run-folder.js';
import type { Device } from '../runtime/session.js';
import { formatHeadChoice, parseHeadChoice } from '../transfer/heads/index.js';
import { balancedClassWeights } from '../transfer/pipeline.js';
import { strategyInfo } from '../transfer/strategies/index.js';
import { type PoolKind } from '../transfer/text/bag-model.js';
import { TextClassifier, finalizeTextClassifier } from '../transfer/text/classifier.js';
import { type LoadedTextBackbone, loadTextBackbone } from '../transfer/text/node/backbone.js';
import { stripEmailHeaders, stripHtmlTags } from '../transfer/text/tokenizer.js';
import { vocabularyOf } from '../transfer/text/vocabulary.js';
import { type TextStrategy, type TextTrainEvent, trainTextClassifier } from '../transfer/text/train.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';

/**
 * Word vectors kept from the zoo model unless --max-words says otherwise: GloVe lists words by frequency,
 * and its 50,000 most frequent make a 20 MB model (all 341k: 140 MB) with the same spam-assassin accuracy.
 */
export const DEFAULT_MAX_WORDS = 50000;

/** Settings only text training has (`graft train` takes them as flags for text data: src/cli/text-options.ts). */
export interface TextOnlySettings {
  /** how word vectors of a text are pooled (default mean+max) */
  pool?: PoolKind;
  /** tokens kept per text (default 512 for word vectors, 256 for sentence encoders) */
  maxTokens?: number;
  /** raw e-mails: keep, drop, or keep only the Subject of the header block (default keep) */
  emailHeaders?: 'keep' | 'drop' | 'subject';
  stripHtml?: boolean;
  /** same as --strategy fine-tune: train the word vectors with the head */
  fineTuneEmbeddings?: boolean;
  /** sentence encoders: tokenizer.json path or source */
  tokenizer?: string;
  /** word vectors: keep the N most frequent words of the zoo model (default DEFAULT_MAX_WORDS) */
  maxWords?: number;
  /** fine-tune: also keep this many of the most frequent words that training texts do not use */
  keepTopWords?: number;
  /** fine-tune: missing words seen at least this often get new trainable vectors (0: none) */
  newWordMinCount?: number;
  /** text tables: the column / JSON field with the text and the label (default text, label) */
  textField?: string;
  labelField?: string;
  /** class folders: file extensions read (comma list, default .txt) */
  extensions?: string;
}

export interface TextTrainSettings extends TextOnlySettings, SourceSettings {
  /** zoo name or source of the text backbone (default glove.6b.100d) */
  model?: string;
  strategy?: TextStrategy;
  /** 'linear', 'mlp:256', 'knn:5', 'prototype' (default: the strategy's) */
  head?: string;
  /** fine-tuning a sentence encoder: 'all' (default) or 'last:N' layers train with the head (--unfreeze) */
  unfreeze?: string;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  weightDecay?: number;
  dropout?: number;
  /** fraction of each class held out for validation when the data has no val split (default 0.1) */
  valSplit?: number;
  /** the same for testing (default 0) */
  testSplit?: number;
  seed?: number;
  classWeight?: 'none' | 'balanced';
  device?: Device;
  threads?: number;
  modelsFile?: string;
  /** caps on the files and tables read */
  limits?: DataLimits;
}

export type TextTrainCliEvent =
  TextTrainEvent | { type: 'stage'; message: string } | { type: 'issue'; issue: DatasetIssue };

export interface TextTrainOptions extends TextTrainSettings, RunFolderChoice {
  /** a CSV/TSV/JSONL table or a folder of class folders */
  data: string;
  /** the run folder to write */
  out: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** renames or drops (null) classes as the data is read, e.g. 'easy-ham-1' -> 'ham' */
  mapLabel?: (label: string) => string | null;
  onEvent?: (e: TextTrainCliEvent) => void;
  onSourceEvent?: SourceEventListener;
  /** the backbone, when the caller has loaded it already (benches, tests) */
  backbone?: LoadedTextBackbone;
}

/** Headline scores of a split (the same as images'). */
export type TextSplitSummary = SplitSummary;

export interface TextTrainResult extends RunResult {
  strategy: TextStrategy;
  featureSeconds: number;
  trainSeconds: number;
}

/**
 * `graft train` for text data: load and split the texts, load the text backbone (GloVe by default),
 * train (frozen-feature strategies or fine-tuned word vectors), calibrate on val, evaluate val and test
 * with the exported model itself, and write the run folder (run.json, history, metrics.json,
 * labels.json, top-losses.json with text snippets, model.onnx, dataset-report.json, train.log).
 */
export async function runTextTraining(opts: TextTrainOptions): Promise<TextTrainResult> {
  const start = startRun(opts.onEvent, textLogLines);
  const { emit } = start;
  const cwd = opts.cwd ?? process.cwd();
  const out = resolve(cwd, opts.out);
  const data = resolve(cwd, opts.data);
  const seed = opts.seed ?? 0;
  checkFraction(opts.valSplit, '--val-split');
  checkFraction(opts.testSplit, '--test-split');
  const strategy = resolveStrategy(opts);
  if (opts.resume) {
    throw new GraftError('BAD_INPUT', 'Text runs cannot resume', {
      fix: 'run it again (add --overwrite); text training takes seconds to minutes',
    });
  }
  checkRunFolder(out, opts);
  const headChoice = opts.head ? parseHeadChoice(opts.head) : undefined;

  emit({ type: 'stage', message: `reading ${data}` });
  const ds = await loadAndSplit(data, opts, seed, (issue) => emit({ type: 'issue', issue }));
  const classes = [...ds.labels.names];
  const bySplit = (s: Split) => ds.items.filter((it) => it.split === s);
  const trainItems = bySplit('train');
  const valItems = bySplit('val');
  const testItems = bySplit('test');
  const splitOf = (items: TextItem[]) => ({
    texts: items.map((it) => it.text),
    labels: ds.labels.encode(items.map((it) => it.label)),
  });

  const loaded =
    opts.backbone ??
    (await loadTextBackbone({
      model: opts.model,
      tokenizer: opts.tokenizer,
      maxWords: opts.maxWords ?? DEFAULT_MAX_WORDS,
      cacheDir: opts.cacheDir,
      offline: opts.offline,
      refresh: opts.refresh,
      modelsFile: opts.modelsFile,
      env: opts.env,
      cwd,
      onEvent: opts.onSourceEvent,
    }));
  if (loaded.backbone.kind === 'word-vectors' && opts.maxWords === undefined && !opts.backbone) {
    const words = vocabularyOf(loaded.backbone.model).words.length;
    emit({
      type: 'stage',
      message: `word vectors: the ${words.toLocaleString('en-US')} most frequent words of ${loaded.name} are used (--max-words ${DEFAULT_MAX_WORDS} by default; a larger --max-words keeps more)`,
    });
  }
  const session = { device: opts.device, intraOpThreads: opts.threads };
  const maxTokens = opts.maxTokens ?? (loaded.backbone.kind === 'sentence-encoder' ? (loaded.maxTokens ?? 256) : 512);
  const train = splitOf(trainItems);
  const classWeights =
    (opts.classWeight ?? 'none') === 'balanced' ? balancedClassWeights(train.labels, classes.length) : undefined;
  emit({
    type: 'stage',
    message: `training on ${trainItems.length} texts with ${loaded.name} (${strategy}), validating on ${valItems.length}`,
  });
  const trained = await trainTextClassifier({
    backbone: loaded.backbone,
    classes,
    train,
    val: valItems.length ? splitOf(valItems) : undefined,
    strategy,
    head: headChoice,
    pool: opts.pool,
    tokenizer: { maxTokens, emailHeaders: opts.emailHeaders, stripHtml: opts.stripHtml },
    epochs: opts.epochs,
    lr: opts.lr,
    batchSize: opts.batchSize,
    weightDecay: opts.weightDecay,
    dropout: opts.dropout,
    seed,
    classWeights,
    keepTopWords: opts.keepTopWords,
    newWordMinCount: opts.newWordMinCount,
    unfreeze: opts.unfreeze,
    session,
    onEvent: emit,
  });

  // Evaluate the exported graph itself (uncalibrated, as the run ending fits the temperature on val).
  const scored = async (items: TextItem[]): Promise<ScoredSplit> => {
    const model = finalizeTextClassifier(trained.model, trained.encoder, { labels: classes, temperature: 1 });
    const c = await TextClassifier.fromModel(model, { session });
    try {
      return {
        logits: await c.logits(items.map((it) => it.text)),
        labels: ds.labels.encode(items.map((it) => it.label)),
        ids: items.map((it) => it.id),
        texts: items.map((it) => snippet(it.text, opts)),
      };
    } finally {
      await c.dispose();
    }
  };
  const headText = formatHeadChoice(trained.head);
  const badFiles = ds.report.issues
    .filter((i) => i.skipped)
    .flatMap((i) => i.files.map((f) => ({ path: f, reason: `${i.kind}: ${i.detail}` })));
  const epochs = trained.history.length;
  const { run, counts } = runRecord({
    start,
    model: loaded.name,
    strategy: trained.strategy,
    head: headText,
    config: {
      ...trained.config,
      epochs: Number(trained.config.epochs ?? 0),
      batch: Number(trained.config.batch ?? opts.batchSize ?? 32),
      seed,
      valSplit: opts.valSplit ?? 0.1,
      testSplit: opts.testSplit ?? 0,
      classWeight: opts.classWeight ?? 'none',
    },
    data: { kind: 'text', source: data, root: ds.root, classes },
    examples: ds.items,
    badFiles,
    featureSeconds: trained.timing.featureSeconds,
    trainSeconds: trained.timing.trainSeconds,
    perSecond: trained.timing.textsPerSecond,
    trainExamples: trainItems.length,
    epochs,
    device: opts.device,
    threads: opts.threads,
  });
  const end = endRun({
    out,
    classes,
    val: valItems.length ? await scored(valItems) : undefined,
    test: testItems.length ? await scored(testItems) : undefined,
    exportModel: ({ temperature, provenance }) =>
      finalizeTextClassifier(trained.model, trained.encoder, { labels: classes, temperature, provenance }),
    provenance: { baseModelSha256: loaded.sha256, config: trained.config },
    trainExamples: trainItems.length,
    run,
    history: trained.history,
    datasetReport: ds.report,
    log: start.log,
    unit: 'texts',
    say: (message) => emit({ type: 'stage', message }),
  });
  return {
    runDir: out,
    modelPath: end.modelPath,
    model: loaded.name,
    strategy: trained.strategy,
    head: headText,
    classes,
    counts,
    val: end.val,
    test: end.test,
    temperature: end.temperature,
    epochs,
    seconds: run.timing.totalSeconds,
    featureSeconds: trained.timing.featureSeconds,
    trainSeconds: trained.timing.trainSeconds,
    reports: end.reports,
  };
}

function resolveStrategy(opts: TextTrainSettings): TextStrategy {
  const s = opts.strategy ?? (opts.fineTuneEmbeddings ? 'fine-tune' : 'feature-extract');
  strategyInfo(s, { data: 'text' });
  if (opts.fineTuneEmbeddings && s !== 'fine-tune') {
    throw new GraftError('BAD_INPUT', `--fine-tune-embeddings contradicts --strategy ${s}`, {
      expected: '--strategy fine-tune, or no --strategy',
      found: s,
      fix: 'drop one of the two flags',
    });
  }
  return s;
}

/**
 * Loads the texts and carves the val/test splits the data does not have from the training texts:
 * stratified and seeded, so the same data and seed always give the same split.
 */
async function loadAndSplit(
  data: string,
  opts: TextTrainOptions,
  seed: number,
  onIssue: (i: DatasetIssue) => void,
): Promise<TextDataset> {
  const extensions = opts.extensions
    ?.split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => (e.startsWith('.') ? e : `.${e}`));
  const ds = await loadTextDataset(data, {
    fields: { text: opts.textField, label: opts.labelField },
    extensions,
    invalidUtf8: 'replace',
    mapLabel: opts.mapLabel,
    onIssue,
    limits: opts.limits,
  });
  carveMissingSplits(ds, { valSplit: opts.valSplit ?? 0.1, testSplit: opts.testSplit, seed });
  return ds;
}

/** The start of a text as the model read it (headers and HTML removed as configured), on one line. */
function snippet(text: string, opts: TextTrainSettings, max = 300): string {
  let t = text;
  if (opts.emailHeaders && opts.emailHeaders !== 'keep') t = stripEmailHeaders(t, opts.emailHeaders === 'subject');
  if (opts.stripHtml) t = stripHtmlTags(t);
  t = t.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** What train.log keeps of a text run's events. */
function textLogLines(e: TextTrainCliEvent): string[] {
  if (e.type === 'stage' || e.type === 'info') return [e.message];
  if (e.type === 'epoch') return [formatEpoch(e.record, e.epochs)];
  return [];
}
