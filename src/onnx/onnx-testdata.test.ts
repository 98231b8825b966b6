// The ONNX backend test models (Debian's libonnx-testdata, ~1,000 models with inputs and expected outputs)
// through Graft's codec: decode -> encode must lose nothing (issue 10, item 9), and onnxruntime must give the
// re-encoded model's outputs bit for bit where it runs the original. Skipped, saying so, only when the
// package is absent: apt-get install libonnx-testdata.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import protoPkg from 'onnx-proto';
import { ort } from '../runtime/ort.js';
import { modelProblems } from './check.js';
import { decodeModel, decodeTensor, encodeModel } from './codec.js';
import type { Model } from './graph.js';
import { modelDiff, equalBytes } from './test-utils/graph-diff.js';
import { ONNX_TESTDATA_DIR, listTestdataModels } from './test-utils/onnx-testdata.js';
import { protoDiff } from './test-utils/proto-diff.js';

const { onnx } = protoPkg;
const CHECKER_LIST = new URL('../../fixtures/onnx-testdata/checker.json', import.meta.url);
const checker = JSON.parse(readFileSync(CHECKER_LIST, 'utf8')) as { onnx: string; accepted: string[] };
const names = listTestdataModels();
const absent =
  names.length === 0
    ? `Debian's libonnx-testdata is not installed (no models under ${ONNX_TESTDATA_DIR}): apt-get install libonnx-testdata`
    : false;
if (absent) console.log(`# skipping the ONNX backend test models: ${absent}`);

interface RoundTrip {
  name: string;
  original: Uint8Array;
  model: Model;
  reencoded: Uint8Array;
}
/** every model that decoded and encoded again, whether or not it lost something: onnxruntime judges them too */
const roundTrips: RoundTrip[] = [];

test('every ONNX backend test model survives decode -> encode: same proto, same IR', { skip: absent }, () => {
  const failures: string[] = [];
  for (const name of names) {
    const file = join(ONNX_TESTDATA_DIR, name, 'model.onnx');
    const original = readFileSync(file);
    try {
      const model = decodeModel(original, { file });
      const reencoded = encodeModel(model);
      roundTrips.push({ name, original, model, reencoded });
      const again = decodeModel(reencoded, { file: `${name} (re-encoded)` });
      const lost = [...protoDiff(original, reencoded), ...modelDiff(model, again)];
      // a second round trip writes the very same bytes
      if (!equalBytes(encodeModel(again), reencoded)) lost.push('the second encoding differs from the first');
      if (lost.length) failures.push(`${name}:\n    ${lost.slice(0, 5).join('\n    ')}`);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${names.length} models do not round-trip`);
  const missing = checker.accepted.filter((n) => !names.includes(n));
  assert.deepEqual(
    missing,
    [],
    `models fixtures/onnx-testdata/checker.json lists (onnx ${checker.onnx}) are not installed: regenerate the list ` +
      'with scripts/fixtures/onnx_testdata_checker.py for this version of the package',
  );
  console.log(`# ${names.length} models round-trip (onnx.checker accepts ${checker.accepted.length})`);
});

test('graft inspect finds no problem in any of them (onnx.checker accepts them all)', { skip: absent }, () => {
  assert.ok(roundTrips.length > 0, 'the round-trip test ran first and kept its models');
  const accepted = new Set(checker.accepted);
  const flagged = roundTrips
    .filter((r) => accepted.has(r.name))
    .map((r) => ({ name: r.name, problems: modelProblems(r.model) }))
    .filter((r) => r.problems.length)
    .map((r) => `${r.name}: ${r.problems.map((p) => p.message).join('; ')}`);
  assert.deepEqual(flagged, []);
});

test('onnxruntime gives the re-encoded models the same outputs as the originals', { skip: absent }, async () => {
  assert.ok(roundTrips.length > 0, 'the round-trip test ran first and kept its models');
  const options: ort.InferenceSession.SessionOptions = {
    logSeverityLevel: 4,
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  };
  let ran = 0;
  let nondeterministic = 0;
  const notRun: string[] = [];
  const mismatches: string[] = [];
  for (const { name, original, model, reencoded } of roundTrips) {
    const feeds = testInputs(name, model);
    if (!feeds) {
      notRun.push(`${name}: inputs that are not tensors`);
      continue;
    }
    let expected: Outputs[];
    try {
      expected = await runAll(original, feeds, options);
    } catch (e) {
      notRun.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const got = await runAll(reencoded, feeds, options);
    let diff = feeds.map((_, i) => outputsDiff(expected[i]!, got[i]!)).find((d) => d);
    if (diff) {
      // Random ops without a seed (RandomNormal, Bernoulli, ...) differ from run to run: the original against
      // itself tells those apart, and they are held to the same types and shapes only.
      const again = await runAll(original, feeds, options);
      if (feeds.some((_, i) => outputsDiff(expected[i]!, again[i]!))) {
        nondeterministic++;
        diff = feeds.map((_, i) => outputsDiff(expected[i]!, got[i]!, { valuesToo: false })).find((d) => d);
      }
    }
    if (diff) mismatches.push(`${name}: ${diff}`);
    ran++;
  }
  console.log(
    `# onnxruntime ${ort.env.versions.common} ran ${ran} of ${roundTrips.length} models (${nondeterministic} with ` +
      `random outputs compared by type and shape); ${notRun.length} it does not run`,
  );
  assert.deepEqual(mismatches, []);
  // Most test models are single standard ops that onnxruntime implements: a sudden drop means the feeds
  // or the sessions broke here, not that the round trip got better.
  assert.ok(
    ran >= roundTrips.length * 0.8,
    `onnxruntime ran only ${ran}; first not run:\n${notRun.slice(0, 10).join('\n')}`,
  );
});

type Outputs = Record<string, ort.Tensor>;

/** Runs one model on each input set, a fresh session released after use. */
async function runAll(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>[],
  options: ort.InferenceSession.SessionOptions,
): Promise<Outputs[]> {
  const session = await ort.InferenceSession.create(bytes, options);
  try {
    const out: Outputs[] = [];
    for (const f of feeds) out.push(await session.run(f));
    return out;
  } finally {
    await session.release();
  }
}

const ORT_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16']);
const ORT_TYPES_MORE = new Set(['uint32', 'uint64', 'bool', 'string']);

/**
 * The test's input sets (test_data_set_N/input_K.pb, K in the order of the graph's data inputs) as
 * onnxruntime tensors; undefined when an input is not a tensor (sequences and optionals are fed as
 * SequenceProto / OptionalProto, which onnxruntime's JavaScript API cannot take).
 */
function testInputs(name: string, model: Model): Record<string, ort.Tensor>[] | undefined {
  const inputs = model.graph.dataInputs;
  if (inputs.some((i) => i.type)) return undefined;
  const dir = join(ONNX_TESTDATA_DIR, name);
  const sets = readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort();
  const out: Record<string, ort.Tensor>[] = [];
  for (const set of sets) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, info] of inputs.entries()) {
      const file = join(dir, set, `input_${k}.pb`);
      // An optional input left out by the test (no file): onnxruntime takes it as absent.
      if (!existsSync(file)) continue;
      const t = decodeTensor(onnx.TensorProto.decode(readFileSync(file)));
      if (!ORT_TYPES.has(t.dtype) && !ORT_TYPES_MORE.has(t.dtype)) return undefined;
      const data =
        t.dtype === 'string'
          ? t.stringData.map((s) => new TextDecoder().decode(s))
          : t.dtype === 'bool'
            ? new Uint8Array(t.bytes)
            : t.toArray();
      feeds[info.name] = new ort.Tensor(t.dtype as ort.Tensor.Type, data as ort.Tensor.DataType, [...t.dims]);
    }
    out.push(feeds);
  }
  return out;
}

/** Where two runs' outputs differ: type, shape or value (bitwise; NaN equals NaN whatever its payload). */
function outputsDiff(a: Outputs, b: Outputs, opts: { valuesToo?: boolean } = {}): string | undefined {
  const names = Object.keys(a);
  if (names.join() !== Object.keys(b).join()) return `outputs ${names.join()} != ${Object.keys(b).join()}`;
  for (const n of names) {
    const x = a[n]!;
    const y = b[n]!;
    if (x.type !== y.type || x.dims.join() !== y.dims.join()) {
      return `${n}: ${x.type}[${x.dims.join()}] != ${y.type}[${y.dims.join()}]`;
    }
    if (opts.valuesToo === false) continue;
    if (x.type === 'string') {
      if ((x.data as string[]).join('\0') !== (y.data as string[]).join('\0')) return `${n}: strings differ`;
      continue;
    }
    const xd = x.data as ArrayLike<number | bigint>;
    const yd = y.data as ArrayLike<number | bigint>;
    const bitwise = equalBytes(bytesOf(xd), bytesOf(yd));
    const bothNaN = (i: number) => Number.isNaN(xd[i]) && Number.isNaN(yd[i]);
    if (
      !bitwise &&
      !Array.from({ length: xd.length }, (_, i) => i).every((i) => bothNaN(i) || Object.is(xd[i], yd[i]))
    ) {
      return `${n}: values differ`;
    }
  }
  return undefined;
}

function bytesOf(a: ArrayLike<number | bigint>): Uint8Array {
  const v = a as unknown as ArrayBufferView;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}
