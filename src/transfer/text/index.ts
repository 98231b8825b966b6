// Text transfer, browser-safe: tokenizers, the bag-of-embeddings encoder, sentence-encoder pooling,
// training (frozen features or fine-tuned word vectors) and the exported classifier. Files: ./node/.
export * from './tokenizer.js';
export * from './vocabulary.js';
export * from './bag-model.js';
export * from './features.js';
export * from './sentence-encoder.js';
export * from './sentencepiece.js';
export * from './classifier.js';
export * from './train.js';
