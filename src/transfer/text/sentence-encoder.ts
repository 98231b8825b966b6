import { Tokenizer } from '@huggingface/tokenizers';
import { GraftError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { checkGraph } from '../../onnx/check.js';
import type { Model } from '../../onnx/graph.js';
import type { HostTensor } from '../../runtime/session.js';

/** Graph inputs a Hugging Face encoder export may declare; ids and mask are required. */
export const ENCODER_INPUTS = { ids: 'input_ids', mask: 'attention_mask', types: 'token_type_ids' } as const;
export const SENTENCE_FEATURES = 'sentence_embedding';

/** What turns a text into a sentence encoder's token ids (a Hugging Face tokenizer, or SentencePiece). */
export interface TextTokenizer {
  readonly maxTokens: number;
  encode(text: string): Int32Array;
}

/**
 * A Hugging Face tokenizer (tokenizer.json, with tokenizer_config.json when there is one), run by the
 * maintained `@huggingface/tokenizers` package. Texts longer than `maxTokens` are cut, keeping the
 * closing special token ([SEP], </s>) the encoder was trained to see.
 */
export class SentenceTokenizer implements TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly special: ReadonlySet<number>;

  constructor(
    readonly tokenizerJson: Record<string, unknown>,
    readonly tokenizerConfig: Record<string, unknown> = {},
    readonly maxTokens = 256,
  ) {
    if (!Number.isInteger(maxTokens) || maxTokens < 2) {
      throw new GraftError('CONFIG', 'The token limit of a sentence encoder must be at least 2', {
        found: String(maxTokens),
        fix: 'use e.g. --max-tokens 256',
      });
    }
    try {
      this.tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new GraftError('BAD_INPUT', 'Cannot build the tokenizer from tokenizer.json', {
        found: (e as Error).message,
        expected: 'a Hugging Face tokenizer.json (with "model", "normalizer", "pre_tokenizer" ...)',
        fix: 'pass the tokenizer.json that comes with the encoder (the one transformers.js loads)',
        cause: e,
      });
    }
    this.special = new Set(
      [...this.tok.get_added_tokens_decoder()]
        .filter(([, t]) => (t as { special?: boolean }).special)
        .map(([id]) => id),
    );
  }

  /** Token ids of one text with the encoder's special tokens, at most maxTokens. */
  encode(text: string): Int32Array {
    const ids = this.tok.encode(text, { add_special_tokens: true }).ids;
    if (ids.length <= this.maxTokens) return Int32Array.from(ids);
    const last = ids[ids.length - 1]!;
    const cut = this.special.has(last) ? [...ids.slice(0, this.maxTokens - 1), last] : ids.slice(0, this.maxTokens);
    return Int32Array.from(cut);
  }
}

export interface SentenceFeatureModel {
  model: Model;
  /** [N, H] features */
  features: string;
  featureDim: number;
  /** encoder inputs to feed, in the model's order */
  inputs: string[];
}

/**
 * The encoder with attention-masked mean pooling of its token states appended (what sentence-transformers
 * does for MiniLM/MPNet models): [N, T, H] states -> [N, H]. An output that is already [N, H] (a pooled
 * export) is used as it is. The encoder's other outputs are dropped.
 */
export function sentenceFeatureModel(encoder: Model, output?: string): SentenceFeatureModel {
  const m = encoder.clone();
  const g = m.graph;
  const inputs = g.dataInputs.map((i) => i.name);
  for (const need of [ENCODER_INPUTS.ids, ENCODER_INPUTS.mask]) {
    if (!inputs.includes(need)) {
      throw new GraftError('BAD_MODEL', `The sentence encoder has no '${need}' input`, {
        expected: `inputs ${ENCODER_INPUTS.ids} and ${ENCODER_INPUTS.mask} (a Hugging Face encoder export)`,
        found: inputs.join(', ') || 'no inputs',
        fix: 'export the encoder with optimum / transformers.js conventions, or use glove.6b.100d',
      });
    }
  }
  const extra = inputs.filter((n) => !Object.values<string>(ENCODER_INPUTS).includes(n));
  if (extra.length) {
    throw new GraftError('BAD_MODEL', 'The sentence encoder has inputs Graft cannot fill', {
      expected: Object.values(ENCODER_INPUTS).join(', '),
      found: extra.join(', '),
      fix: 'export the encoder without past key/values or other extra inputs',
    });
  }
  const outNames = g.outputs.map((o) => o.name);
  const out = output ?? (outNames.includes('last_hidden_state') ? 'last_hidden_state' : outNames[0]);
  if (!out || !outNames.includes(out)) {
    throw new GraftError('NOT_FOUND', 'The sentence encoder has no such output', {
      value: output,
      choices: outNames,
      fix: 'name one of the encoder outputs',
    });
  }
  const shape = g.info(out)?.shape;
  const hidden = shape?.[shape.length - 1];
  if (!shape || (shape.length !== 3 && shape.length !== 2) || typeof hidden !== 'number') {
    throw new GraftError('SHAPE_MISMATCH', 'The sentence encoder output is not token states or embeddings', {
      value: out,
      expected: '[N, T, H] or [N, H] with a fixed H',
      found: shape ? `[${shape.join(', ')}]` : 'an unknown shape',
      fix: 'choose the last_hidden_state output of the encoder',
    });
  }
  const b = new GraphBuilder(g);
  let f: string;
  if (shape.length === 2) {
    f = b.op('Identity', [out], undefined, { outputs: [SENTENCE_FEATURES] });
  } else {
    const mask = b.op('Cast', [ENCODER_INPUTS.mask], { to: 1 }, { name: 'pool_mask' });
    const m3 = b.op('Unsqueeze', [mask, b.ints([2], 'pool_mask_axes')]);
    const axis = b.ints([1], 'pool_token_axis');
    const sum = b.op('ReduceSum', [b.op('Mul', [out, m3]), axis], { keepdims: 0 });
    const count = b.op('Clip', [b.op('ReduceSum', [mask, axis], { keepdims: 1 }), b.scalar(1, 'pool_min_count')]);
    f = b.op('Div', [sum, count], undefined, { outputs: [SENTENCE_FEATURES], name: 'mean_pool' });
  }
  g.outputs = [{ name: f, dtype: 'float32', shape: [shape[0], hidden] }];
  g.valueInfo.set(f, { name: f, dtype: 'float32', shape: [shape[0], hidden] });
  g.cleanup();
  checkGraph(g);
  return { model: m, features: f, featureDim: hidden, inputs };
}

/** Feeds for a batch of encoded texts: ids, mask and (when the encoder takes them) zero token types. */
export function encoderFeeds(lists: readonly Int32Array[], inputs: readonly string[]): Record<string, HostTensor> {
  const t = Math.max(1, ...lists.map((l) => l.length));
  const n = lists.length;
  const ids = new BigInt64Array(n * t);
  const mask = new BigInt64Array(n * t);
  lists.forEach((l, i) => {
    for (let j = 0; j < l.length; j++) {
      ids[i * t + j] = BigInt(l[j]!);
      mask[i * t + j] = 1n;
    }
  });
  const feeds: Record<string, HostTensor> = {
    [ENCODER_INPUTS.ids]: { dtype: 'int64', dims: [n, t], data: ids },
    [ENCODER_INPUTS.mask]: { dtype: 'int64', dims: [n, t], data: mask },
  };
  if (inputs.includes(ENCODER_INPUTS.types)) {
    feeds[ENCODER_INPUTS.types] = { dtype: 'int64', dims: [n, t], data: new BigInt64Array(n * t) };
  }
  return feeds;
}
