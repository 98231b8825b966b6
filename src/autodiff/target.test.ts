import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { vjpProblem, type GradCheckCase } from './gradcheck.js';
import { cpuGraphSubjects } from './test-utils/cpu-graphs.js';
import { graphDigest } from './test-utils/digest.js';
import { ortRunner } from './test-utils/ort-runner.js';
import { ACTIVATION_ROWS } from './test-utils/rows/activation.js';
import { CONV_ROWS } from './test-utils/rows/conv.js';
import { NORM_ROWS } from './test-utils/rows/norm.js';
import { POOL_ROWS } from './test-utils/rows/pool.js';

/**
 * Digests of the CPU training graphs as they were before provider-specific formulations existed
 * (fixtures/cpu-graph-digests.json, written from the rules of commit cb0aab2). A CPU graph that changes
 * fails here: a formulation meant for one provider must not leak into the others. Change the file only
 * with a CPU rule change you meant to make.
 */
const RECORDED = JSON.parse(
  readFileSync(new URL('./fixtures/cpu-graph-digests.json', import.meta.url), 'utf8'),
) as Record<string, string>;

const FAMILIES: Record<string, readonly GradCheckCase[]> = {
  conv: CONV_ROWS,
  pool: POOL_ROWS,
  norm: NORM_ROWS,
  activation: ACTIVATION_ROWS,
};

for (const target of [undefined, 'cpu', 'wasm', 'cuda']) {
  test(`training graphs built for ${target ?? 'no target'} are the recorded CPU graphs, node for node`, async () => {
    const changed: string[] = [];
    let compared = 0;
    for (const [family, rows] of Object.entries(FAMILIES)) {
      for (const [i, row] of rows.entries()) {
        const key = `${family} #${i}`;
        const digest = graphDigest((await vjpProblem(row, ortRunner, target)).vjp);
        if (digest !== RECORDED[key]) changed.push(key);
        compared++;
      }
    }
    for (const s of cpuGraphSubjects()) {
      if (graphDigest(s.build(target).model) !== RECORDED[s.name]) changed.push(s.name);
      compared++;
    }
    assert.equal(compared, Object.keys(RECORDED).length, 'every recorded graph is compared');
    assert.deepEqual(changed, [], `${changed.length} of ${compared} CPU graphs changed`);
  });
}
