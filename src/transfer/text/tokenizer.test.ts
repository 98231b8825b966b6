import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGraftError } from '../../errors.js';
import {
  DEFAULT_WORD_TOKENIZER,
  stripEmailHeaders,
  stripHtmlTags,
  tokenizeWords,
  wordTokenizerConfig,
} from './tokenizer.js';
import { Vocabulary, vocabularyUsage } from './vocabulary.js';

const cfg = (over: Parameters<typeof wordTokenizerConfig>[0] = {}) => wordTokenizerConfig(over);

test('tokenizeWords: lower-case words, clitics split as GloVe has them, symbols as tokens', () => {
  assert.deepEqual(tokenizeWords("Don't WIN $1,000 now!! John's e-mail: x@y.com", cfg()), [
    'do',
    "n't",
    'win',
    '$',
    '1,000',
    'now',
    '!',
    '!',
    'john',
    "'s",
    'e-mail',
    ':',
    'x',
    '@',
    'y.com',
  ]);
  assert.deepEqual(tokenizeWords('It’s 3.5 -- ok.', cfg({ punctuation: false })), ['it', "'s", '3.5', 'ok']);
  assert.deepEqual(tokenizeWords('Keep Case', cfg({ lowercase: false })), ['Keep', 'Case']);
  assert.deepEqual(tokenizeWords("o'neill can't", cfg()), ["o'neill", 'ca', "n't"]);
});

test('stripEmailHeaders: drops the header block, keeps a folded Subject when asked, leaves plain text alone', () => {
  const mail = [
    'From someone@example.com  Tue Jul 30 08:30:04 2002',
    'Return-Path: <a@b.c>',
    'Subject: Cheap',
    '   pills today',
    'X-Mailer: Foo',
    '',
    'Body line one.',
    '',
    'Body: not a header',
  ].join('\n');
  assert.equal(stripEmailHeaders(mail), 'Body line one.\n\nBody: not a header');
  assert.equal(stripEmailHeaders(mail, true), 'Cheap pills today\nBody line one.\n\nBody: not a header');
  assert.equal(stripEmailHeaders('Just a sentence.\n\nAnother.'), 'Just a sentence.\n\nAnother.');
  const headersOnly = 'Subject: hi\nTo: x@y.z';
  assert.equal(stripEmailHeaders(headersOnly, true), 'hi\n');
  assert.deepEqual(tokenizeWords(mail, cfg({ emailHeaders: 'subject' })).slice(0, 3), ['cheap', 'pills', 'today']);
  assert.ok(!tokenizeWords(mail, cfg({ emailHeaders: 'drop' })).includes('cheap'));
  assert.ok(tokenizeWords(mail, cfg()).includes('return-path'));
});

test('stripHtmlTags: tags, comments, scripts and styles go; entities decode', () => {
  const html = '<html><style>p{x:1}</style><p>Free&nbsp;<b>money</b> &amp; more &#33;&#x21;</p><!-- hid --></html>';
  assert.equal(stripHtmlTags(html).replace(/\s+/g, ' ').trim(), 'Free money & more !!');
  assert.deepEqual(tokenizeWords(html, cfg({ stripHtml: true, punctuation: false })), ['free', 'money', 'more']);
});

test('wordTokenizerConfig: defaults, and bad settings are config errors naming the choices', () => {
  assert.deepEqual(cfg(), { ...DEFAULT_WORD_TOKENIZER });
  assert.equal(cfg({ maxTokens: undefined }).maxTokens, 512);
  assert.throws(
    () => cfg({ emailHeaders: 'strip' as 'drop' }),
    (e: unknown) => isGraftError(e) && e.code === 'CONFIG' && e.fields.choices!.includes('subject'),
  );
  assert.throws(
    () => cfg({ maxTokens: 0 }),
    (e: unknown) => isGraftError(e) && e.code === 'CONFIG',
  );
});

test('Vocabulary: compound fallback, unknown words left out, token limit counts known ids', () => {
  const v = new Vocabulary(['the', 'spam', 'filter', 'e-mail', 'www', 'com', 'the']);
  assert.equal(v.id('the'), 0, 'a repeated word keeps its first row');
  const out: number[] = [];
  assert.equal(v.lookup('spam-filter', out), 0);
  assert.equal(v.lookup('e-mail', out), 0);
  assert.equal(v.lookup('www.example.com', out), 1);
  assert.equal(v.lookup('zzz', out), 1);
  assert.deepEqual(out, [1, 2, 3, 4, 5]);
  const c = cfg({ maxTokens: 3 });
  assert.deepEqual([...v.encode('The zzz spam-filter the the', c)], [0, 1, 2]);
  assert.deepEqual([...v.encode('qqq', c)], []);
  const usage = vocabularyUsage(['the spam qqq www.abc.com', 'qqq'], v, cfg());
  assert.deepEqual(
    [...usage.rows].sort((a, b) => a[0] - b[0]),
    [
      [0, 1],
      [1, 1],
      [4, 1],
      [5, 1],
    ],
  );
  assert.deepEqual(Object.fromEntries(usage.unknown), { qqq: 2, abc: 1 });
});
