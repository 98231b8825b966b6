// Issue 13: the second image task, glyphs (bench/glyph-data.ts: 26 letters drawn from the DejaVu faces with
// random case, slant, weight, rotation, colours, strokes and noise), studied as Fashion-MNIST is: a pool of
// `pool` labelled images per class subsampled at the given fractions, three seeds, every run scored on the
// whole test set. Runs through `runCompare`, the code behind `graft compare`.
//
//   npm run bench -- glyph-study [--strategies=linear-probe,fine-tune,auto] [--fractions=1,2.5,10] [--seeds=3]
//        [--input-size=96] [--unfreeze=...] [--epochs=N] [--threads=N] [--seed-list=0,2] [--pool=1000]
//        [--test-count=100] [--out=DIR] [--fresh] [--join] [--publish=DIR] [--sheet=FILE.jpg] (a contact sheet: docs/glyphs/sheet.jpg)
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { glyphDigest, glyphSheet, makeGlyphs } from './glyph-data.js';
import type { BenchContext, BenchResult } from './harness.js';
import { arg, runStudy } from './study.js';

export const description =
  'glyph study: 26 letters drawn in DejaVu faces with random case, pose, colours and noise; linear probe vs fine-tune vs auto at 10/25/100 per class, 3 seeds, the whole test set (graft compare)';

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const pool = Number(arg(ctx.args, 'pool') ?? '1000');
  const testCount = Number(arg(ctx.args, 'test-count') ?? '100');
  const data = await makeGlyphs(
    join(tmpdir(), `graft-glyphs-${pool}-${testCount}`),
    { train: pool, test: testCount },
    ctx.log,
  );
  const sheet = arg(ctx.args, 'sheet');
  if (sheet) await glyphSheet(data, sheet);
  const r = await runStudy(ctx, data, {
    name: 'glyph-study',
    strategies: 'linear-probe,fine-tune,auto',
    out: 'graft-glyph-study',
    fractions: '1,2.5,10',
    dataNote: `train/ = ${pool} per class, test/ = ${testCount} per class, 26 classes; digest ${glyphDigest(data)}`,
  });
  return r;
}
