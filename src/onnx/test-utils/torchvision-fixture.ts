import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeModel } from '../codec.js';
import type { Model } from '../graph.js';
import { Tensor } from '../tensor.js';
import { hashUniform } from './det-random.js';

/** Models exported by scripts/fixtures/export_torchvision.py. */
export type TorchvisionFixture = 'mobilenet_v2' | 'resnet18';
export const TORCHVISION_FIXTURES: readonly TorchvisionFixture[] = ['mobilenet_v2', 'resnet18'];

export const FIXTURE_DIR = fileURLToPath(new URL('../../../fixtures/torchvision/', import.meta.url));

/** A tensor the generator makes: see det-random.ts. */
export interface GeneratedSpec {
  name: string;
  dims: number[];
  center: number;
  halfWidth: number;
}

export type WeightEntry = { name: string; inline: true } | (GeneratedSpec & { dtype: 'float32'; sha256: string });

export interface WeightRecipe {
  generator: string;
  model: string;
  /** sha256 of the full exported ModelProto as PyTorch serialised it (weights included) */
  fullModelSha256: string;
  /** every initializer of the exported model, in file order */
  initializers: WeightEntry[];
}

export interface ForwardReference {
  generator: string;
  input: GeneratedSpec;
  output: { name: string; dims: number[]; values: number[] };
}

export interface GradientReference {
  generator: string;
  mode: string;
  input: GeneratedSpec;
  labels: number[];
  loss: { kind: string; value: number };
  logits: { dims: number[]; values: number[] };
  dotVectors: string;
  params: {
    name: string;
    dims: number[];
    sum: number;
    /** sum of |g|: the scale to compare `sum` and `dots` against, since both may cancel to near zero */
    l1: number;
    maxAbs: number;
    l2: number;
    first: number[];
    dots: [number, number];
  }[];
}

type Kinds = { weights: WeightRecipe; reference: ForwardReference; grads: GradientReference };

export function readFixtureJson<K extends keyof Kinds>(model: TorchvisionFixture, kind: K): Kinds[K] {
  return JSON.parse(readFileSync(`${FIXTURE_DIR}${model}.${kind}.json`, 'utf8')) as Kinds[K];
}

/** The committed graph-only model, without its generated weights. */
export function loadGraphOnly(model: TorchvisionFixture): Model {
  const file = `${FIXTURE_DIR}${model}.graph.onnx`;
  return decodeModel(readFileSync(file), { file });
}

/** Values of a generated tensor (weights, inputs, the gradient fixture's dot-product vectors). */
export function generated(spec: Pick<GeneratedSpec, 'name' | 'center' | 'halfWidth'>, size: number): Float32Array {
  return hashUniform(spec.name, size, spec.center, spec.halfWidth);
}

/**
 * Puts the generated initializers back, in the exporter's order (initializers kept inline in the
 * committed file stay where they were in that order). Returns the same model.
 */
export function refillWeights(model: Model, recipe: WeightRecipe): Model {
  const g = model.graph;
  const inline = g.initializers;
  const filled = new Map<string, Tensor>();
  for (const e of recipe.initializers) {
    if ('inline' in e) {
      const t = inline.get(e.name);
      if (!t) throw new Error(`fixture: initializer ${e.name} should be inline in the graph file`);
      filled.set(e.name, t);
      continue;
    }
    const size = e.dims.reduce((a, b) => a * b, 1);
    filled.set(e.name, Tensor.from(e.name, generated(e, size), e.dims));
  }
  g.initializers = filled;
  g.touch();
  return model;
}

/** The exported model with its weights regenerated: what PyTorch wrote, rebuilt from the fixture files. */
export function loadTorchvisionFixture(model: TorchvisionFixture): Model {
  return refillWeights(loadGraphOnly(model), readFixtureJson(model, 'weights'));
}
