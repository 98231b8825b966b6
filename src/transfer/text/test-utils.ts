// Test-only: tiny text backbones and data made in code, so text tests need no download.
import { GraphBuilder } from '../../onnx/builder.js';
import type { Model } from '../../onnx/graph.js';
import { gaussian, mulberry32 } from '../../util/rng.js';
import { wordVectorsModel } from '../../zoo/formats/word-vectors.js';

export const POSITIVE = ['good', 'great', 'happy', 'superb', 'lovely'];
export const NEGATIVE = ['bad', 'awful', 'sad', 'poor', 'dull'];
export const NEUTRAL = ['the', 'movie', 'was', 'film', 'is', 'a', 'and', 'plot', 'cast', 'it'];

/** Sentences of neutral words with one to three words of their class; labels 0 = negative, 1 = positive. */
export function sentimentTexts(count: number, seed: number): { texts: string[]; labels: Int32Array } {
  const r = mulberry32(seed);
  const pick = (a: readonly string[]) => a[Math.floor(r() * a.length)]!;
  const texts: string[] = [];
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    labels[i] = label;
    const words = Array.from({ length: 3 + Math.floor(r() * 8) }, () => pick(NEUTRAL));
    const cues = 1 + Math.floor(r() * 3);
    for (let c = 0; c < cues; c++) {
      words.splice(Math.floor(r() * (words.length + 1)), 0, pick(label ? POSITIVE : NEGATIVE));
    }
    texts.push(words.join(' ') + (r() < 0.5 ? '.' : '!'));
  }
  return { texts, labels };
}

/**
 * A word-vector model in the zoo's converted format (token_ids -> Gather, vocabulary in the metadata):
 * random vectors, so nothing about the classes is built in; plus `extra` filler words that no text uses.
 */
export function tinyWordVectors(dims = 8, extra = 20, seed = 1): Model {
  const words = [
    ...NEUTRAL,
    ...POSITIVE,
    ...NEGATIVE,
    '.',
    '!',
    ...Array.from({ length: extra }, (_, i) => `filler${i}`),
  ];
  const n = gaussian(mulberry32(seed));
  const vectors = Float32Array.from({ length: words.length * dims }, () => n() * 0.5);
  return wordVectorsModel({ words, dims, vectors }, 'tiny_vectors');
}

export const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];

/** A BERT-style WordPiece tokenizer.json over the test words (plus "##s" so plurals split). */
export function tinyTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  [...SPECIALS, ...NEUTRAL, ...POSITIVE, ...NEGATIVE, '.', '!', '##s'].forEach((w, i) => (vocab[w] = i));
  const special = (content: string) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/**
 * A BERT-shaped encoder: word + token-type embeddings -> tanh -> a dense layer, giving last_hidden_state
 * [N, T, H] from input_ids, attention_mask and token_type_ids (the mask is an input, as in real exports,
 * though this toy has no attention to apply it to).
 */
export function tinyEncoder(hidden = 16, seed = 2): Model {
  const vocabSize = Object.keys((tinyTokenizerJson().model as { vocab: object }).vocab).length;
  const n = gaussian(mulberry32(seed));
  const b = new GraphBuilder('tiny_bert');
  const ids = b.input('input_ids', 'int64', ['batch', 'sequence']);
  b.input('attention_mask', 'int64', ['batch', 'sequence']);
  const types = b.input('token_type_ids', 'int64', ['batch', 'sequence']);
  const wordEmb = b.initializer(
    'word_embeddings',
    Float32Array.from({ length: vocabSize * hidden }, () => n()),
    [vocabSize, hidden],
  );
  const typeEmb = b.initializer(
    'type_embeddings',
    Float32Array.from({ length: 2 * hidden }, () => n() * 0.1),
    [2, hidden],
  );
  const dense = b.initializer(
    'dense',
    Float32Array.from({ length: hidden * hidden }, () => n() / Math.sqrt(hidden)),
    [hidden, hidden],
  );
  const x = b.op('Add', [b.op('Gather', [wordEmb, ids], { axis: 0 }), b.op('Gather', [typeEmb, types], { axis: 0 })]);
  const h = b.op('MatMul', [b.op('Tanh', [x]), dense], undefined, { outputs: ['last_hidden_state'] });
  b.output(h, 'float32', ['batch', 'sequence', hidden]);
  return b.build({ opset: 17 });
}
