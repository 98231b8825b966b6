// Hostile text models and tables (issue 15): a text classifier's metadata is a file's contents too, so a
// tokenizer vocabulary that is not [piece, score] pairs is refused without echoing it; a text flag on an
// image model, and a table row without text, are usage errors that name the file, never a stack trace.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from '../../onnx/codec.js';
import { Graph, Model, Node } from '../../onnx/graph.js';
import type { AdversarialCase, AdversarialContext } from './types.js';

/** A model that reads token ids; `metadata` decides whether Graft takes it for a text classifier. */
function tinyModel(ctx: AdversarialContext, name: string, metadata: Record<string, string>): string {
  const graph = new Graph({
    name: 'tiny',
    inputs: [{ name: 'input_ids', dtype: 'int64', shape: ['N', 'T'] }],
    outputs: [{ name: 'y', dtype: 'int64', shape: ['N', 'T'] }],
    nodes: [new Node({ opType: 'Identity', inputs: ['input_ids'], outputs: ['y'], name: 'id' })],
  });
  const file = join(ctx.dir, name);
  const model = new Model(graph, {
    opsetImports: [{ domain: '', version: 17 }],
    metadata: new Map(Object.entries(metadata)),
  });
  writeFileSync(file, encodeModel(model));
  return file;
}

export const TEXT_CASES: AdversarialCase[] = [
  {
    name: 'text-model-vocabulary-not-pairs',
    item: 8,
    setup: (ctx) => {
      const file = tinyModel(ctx, 'text.onnx', {
        'graft.text': JSON.stringify({
          kind: 'sentence-encoder',
          maxTokens: 8,
          inputs: ['input_ids', 'attention_mask'],
          tokenizer: 'sentencepiece',
        }),
        'graft.labels': JSON.stringify(['a', 'b']),
        'graft.sentencepiece': JSON.stringify([
          ['\u2581a', -1],
          [ctx.secret, 'not a score'],
        ]),
      });
      return {
        argv: ['predict', file, '--text', 'hello'],
        expect: { exit: 2, stderr: /SentencePiece vocabulary is not a list of \[piece, score\] pairs/ },
      };
    },
  },
  {
    name: 'text-flag-on-image-model',
    item: 6,
    setup: (ctx) => {
      const file = tinyModel(ctx, 'image.onnx', {});
      return {
        argv: ['predict', file, '--text', 'hello'],
        expect: { exit: 2, stderr: /--text needs a text model/ },
      };
    },
  },
  {
    name: 'text-table-row-without-text',
    item: 6,
    setup: (ctx) => {
      const file = tinyModel(ctx, 'text.onnx', {
        'graft.text': JSON.stringify({
          kind: 'sentence-encoder',
          maxTokens: 8,
          inputs: ['input_ids', 'attention_mask'],
          tokenizer: 'sentencepiece',
        }),
        'graft.labels': JSON.stringify(['a', 'b']),
        'graft.sentencepiece': JSON.stringify([['\u2581a', -1]]),
      });
      const table = join(ctx.dir, 'texts.csv');
      writeFileSync(table, `text,label\nfine,a\n,${ctx.secret}\n`);
      return {
        argv: ['predict', file, table],
        expect: {
          exit: 2,
          stderr: /has no 'text' text/,
          check: (r) => assert.ok(r.stderr.includes('line 3'), 'the row is named by its line'),
        },
      };
    },
  },
];
