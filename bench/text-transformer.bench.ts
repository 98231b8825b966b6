// Issue 15: a transformer (use_lite.en) against GloVe on two text tasks, 3 seeds each, held-out test sets.
// Tasks (bench/text-tasks.ts): SpamAssassin (spam vs ham) and scrambled word order on State of the Union
// sentences (both classes hold the same words: a bag of words is at chance); `--bshift` adds SentEval's
// bigram shift (two adjacent words swapped), a harder word-order task. Rows: GloVe probe (frozen pooled vectors, MLP head),
// GloVe fine-tune (word vectors + head), USE probe (frozen 512-d embedding, MLP head), USE fine-tune (all
// layers + head). Also: embedding throughput (tokens/s) of both backbones and the fine-tune step/forward
// ratio of the transformer. `--quick`: one seed, smaller sets (a smoke run, not the reported figures).
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTrainingGraph } from '../src/autodiff/build.js';
import { DEFAULT_MAX_WORDS, runTextTraining } from '../src/app/train-text.js';
import { embedTexts } from '../src/app/text-embed.js';
import { Session, f32, i64 } from '../src/runtime/session.js';
import { attachHead } from '../src/surgery/head.js';
import { encoderParameters } from '../src/transfer/text/encoder-params.js';
import { type LoadedTextBackbone, loadTextBackbone } from '../src/transfer/text/node/backbone.js';
import { encoderFeeds, sentenceFeatureModel } from '../src/transfer/text/sentence-encoder.js';
import { SentencePieceTokenizer } from '../src/transfer/text/sentencepiece.js';
import type { TextStrategy } from '../src/transfer/text/train.js';
import { type BenchContext, type BenchResult, timeMedian } from './harness.js';
import { type TaskSizes, bigramShiftTask, scrambledTask, spamTask } from './text-tasks.js';

export const description =
  'use_lite.en vs GloVe on SpamAssassin and scrambled word order (3 seeds): accuracy, macro-F1, train time; tokens/s; step/forward';

interface Setup {
  name: string;
  model: 'glove' | 'use';
  strategy: TextStrategy;
}

const SETUPS: Setup[] = [
  { name: 'GloVe probe', model: 'glove', strategy: 'feature-extract' },
  { name: 'GloVe fine-tune', model: 'glove', strategy: 'fine-tune' },
  { name: 'USE probe', model: 'use', strategy: 'feature-extract' },
  { name: 'USE fine-tune', model: 'use', strategy: 'fine-tune' },
];

interface Task {
  name: string;
  sizes: TaskSizes;
  /** tokens kept per text (e-mails are long; sentences are not) */
  maxTokens: number;
  make: (seed: number, sizes: TaskSizes, dir: string) => string;
  /** raw e-mails: only the Subject of the header block is read */
  emailHeaders?: 'subject';
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const pm = (xs: number[], digits = 4) => `${mean(xs).toFixed(digits)} ± ${sd(xs).toFixed(digits)}`;

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.args.includes('--quick');
  const seeds = quick ? [0] : [0, 1, 2];
  const out = join(dirname(fileURLToPath(import.meta.url)), 'out', 'text-transformer');
  const tasks: Task[] = [
    {
      name: 'spam',
      sizes: quick ? { train: 200, val: 50, test: 200 } : { train: 600, val: 100, test: 1000 },
      maxTokens: 64,
      make: spamTask,
      emailHeaders: 'subject',
    },
    {
      name: 'scrambled',
      sizes: quick ? { train: 300, val: 100, test: 300 } : { train: 1000, val: 200, test: 1000 },
      maxTokens: 64,
      make: scrambledTask,
    },
    ...(ctx.args.includes('--bshift')
      ? [
          {
            name: 'bshift',
            sizes: { train: 2000, val: 200, test: 1000 },
            maxTokens: 64,
            make: bigramShiftTask,
          },
        ]
      : []),
  ];
  const load0 = loadavg()[0]!;
  const backbones: Record<Setup['model'], LoadedTextBackbone> = {
    glove: await loadTextBackbone({ model: 'glove.6b.100d', maxWords: DEFAULT_MAX_WORDS }),
    use: await loadTextBackbone({ model: 'use_lite.en' }),
  };
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  const orderAcc: Record<string, number[]> = {};
  for (const task of tasks) {
    for (const setup of SETUPS) {
      const acc: number[] = [];
      const f1: number[] = [];
      const secs: number[] = [];
      for (const seed of seeds) {
        const data = task.make(seed, task.sizes, join(out, 'data'));
        ctx.log(`${task.name} / ${setup.name} / seed ${seed} ...`);
        const r = await runTextTraining({
          overwrite: true,
          data,
          out: join(out, 'runs', `${task.name}-${setup.name.replace(/\W+/g, '-')}-${seed}`),
          strategy: setup.strategy,
          seed,
          maxTokens: setup.model === 'use' ? task.maxTokens : undefined,
          emailHeaders: task.emailHeaders,
          backbone: backbones[setup.model],
          onEvent: (e) => {
            if (e.type === 'epoch')
              ctx.log(`  epoch ${e.record.epoch}/${e.epochs} val acc ${e.record.valAcc?.toFixed(4)}`);
          },
        });
        acc.push(r.test!.accuracy);
        f1.push(r.test!.macroF1);
        secs.push(r.featureSeconds + r.trainSeconds);
      }
      if (task.name === 'scrambled') orderAcc[setup.name] = acc;
      rows.push({
        task: task.name,
        setup: setup.name,
        'test acc (mean ± sd)': pm(acc),
        'macro-F1 (mean ± sd)': pm(f1),
        'train s (mean)': mean(secs).toFixed(1),
        'acc per seed': acc.map((a) => a.toFixed(4)).join(' '),
      });
    }
  }
  // throughput of the frozen backbones on the same texts (the scrambled task's data of seed 0)
  const texts = scrambledTask(0, tasks[1]!.sizes, join(out, 'data'));
  for (const [name, model] of [
    ['glove.6b.100d', 'glove.6b.100d'],
    ['use_lite.en', 'use_lite.en'],
  ] as const) {
    const e = await embedTexts({ data: texts, out: join(out, `embed-${name}.npy`), model });
    rows.push({
      task: 'embed',
      setup: name,
      'test acc (mean ± sd)': `${e.rows} texts`,
      'macro-F1 (mean ± sd)': `${e.dim}-d`,
      'train s (mean)': e.seconds.toFixed(1),
      'acc per seed': `${e.tokensPerSecond.toFixed(0)} tokens/s, ${e.textsPerSecond.toFixed(0)} texts/s`,
    });
  }
  const ratio = await stepForwardRatio(backbones.use);
  rows.push({
    task: 'step/forward',
    setup: 'USE fine-tune (all layers)',
    'test acc (mean ± sd)': `${ratio.forwardMs.toFixed(0)} ms forward`,
    'macro-F1 (mean ± sd)': `${ratio.stepMs.toFixed(0)} ms step`,
    'train s (mean)': '',
    'acc per seed': `ratio ${(ratio.stepMs / ratio.forwardMs).toFixed(2)} (batch 32 x 32 tokens)`,
  });
  const bestGlove = Math.max(mean(orderAcc['GloVe probe']!), mean(orderAcc['GloVe fine-tune']!));
  const useFt = orderAcc['USE fine-tune']!;
  const spread = Math.max(...Object.values(orderAcc).map(sd));
  notes.push(
    `scrambled word order: USE fine-tune ${mean(useFt).toFixed(4)} vs best GloVe row ${bestGlove.toFixed(4)}: margin ${(mean(useFt) - bestGlove).toFixed(4)}, largest seed sd ${spread.toFixed(4)}`,
    `load average: ${load0.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end (2 cores shared with other work)`,
    `runs and data: ${out}`,
  );
  return { name: 'text-transformer', rows, notes };
}

/**
 * One training step of use_lite.en with every weight trainable (forward + backward, weights fed as
 * inputs, as the trainer runs it; the optimizer's host update not counted) against one inference forward
 * of the same batch (weights constant), medians of 5.
 */
async function stepForwardRatio(use: LoadedTextBackbone): Promise<{ forwardMs: number; stepMs: number }> {
  const bb = use.backbone as Extract<LoadedTextBackbone['backbone'], { kind: 'sentence-encoder' }>;
  const sf = sentenceFeatureModel(bb.model);
  const tok = new SentencePieceTokenizer(bb.sentencePiece!, 32);
  const sentence = 'the congress has the power to lay and collect taxes, duties, imposts and excises, to pay the debts';
  const lists = Array.from({ length: 32 }, () => tok.encode(sentence));
  const feeds = encoderFeeds(lists, sf.inputs);
  const fwd = await Session.create(sf.model);
  const forwardMs = await timeMedian(() => fwd.run(feeds));
  await fwd.dispose();
  const withHead = attachHead(sf.model, sf.features, { numClasses: 2, hidden: [], seed: 0, outputName: 'logits' });
  const trainable = [...encoderParameters(sf.model).all, ...withHead.headParams];
  const tg = buildTrainingGraph(withHead.model, {
    logits: 'logits',
    loss: { kind: 'softmax-cross-entropy' },
    trainable,
  });
  const step = await Session.create(tg.model);
  const stepFeeds = {
    ...feeds,
    [tg.labels.name]: i64(
      lists.map((_, i) => i % 2),
      [32],
    ),
    ...Object.fromEntries(
      trainable.map((p) => {
        const t = withHead.model.graph.initializers.get(p)!;
        return [p, f32(t.toArray() as Float32Array, t.dims)];
      }),
    ),
  };
  const stepMs = await timeMedian(() => step.run(stepFeeds));
  await step.dispose();
  return { forwardMs, stepMs };
}
