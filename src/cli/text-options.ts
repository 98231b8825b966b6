// Flags only text data takes in `graft train` (pooling, tokenizing, fields). Kept apart from commands.ts
// like the fine-tuning flags: only types and constants come from the text recipe.
import { POOL_KINDS } from '../transfer/text/bag-model.js';
import type { TextOnlySettings } from '../app/train-text.js';
import type { OptionTable } from './options.js';

/** The columns of a text table (train, eval, embed, predict). */
export const textTableOptions: OptionTable<{ textField?: string; labelField?: string }> = {
  textField: {
    flag: 'text-field',
    type: 'string',
    placeholder: 'NAME',
    description: 'text tables: text column (text)',
  },
  labelField: {
    flag: 'label-field',
    type: 'string',
    placeholder: 'NAME',
    description: 'text tables: label column (label)',
  },
};

export const textTrainOptions: OptionTable<TextOnlySettings> = {
  pool: {
    flag: 'pool',
    type: 'enum',
    choices: POOL_KINDS,
    description: 'text: how word vectors are pooled into one vector (default mean+max)',
  },
  maxTokens: {
    flag: 'max-tokens',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description: 'text: tokens kept per text (default 512; 256 for sentence encoders)',
  },
  emailHeaders: {
    flag: 'email-headers',
    type: 'enum',
    choices: ['keep', 'drop', 'subject'],
    description: 'text: raw e-mail header block: keep it, drop it, or keep only the Subject (default keep)',
  },
  stripHtml: { flag: 'strip-html', type: 'boolean', description: 'text: remove HTML tags and entities first' },
  fineTuneEmbeddings: {
    flag: 'fine-tune-embeddings',
    type: 'boolean',
    description: 'text: train the word vectors with the head (same as --strategy fine-tune)',
  },
  tokenizer: {
    flag: 'tokenizer',
    type: 'string',
    placeholder: 'FILE',
    description: 'text: tokenizer.json of a sentence encoder (default: found beside the model)',
  },
  maxWords: {
    flag: 'max-words',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description: 'text: keep the N most frequent words of the word vectors (default 50000)',
  },
  keepTopWords: {
    flag: 'keep-top-words',
    type: 'number',
    integer: true,
    min: 0,
    placeholder: 'N',
    description: 'text fine-tune: keep vectors of the N most frequent words besides the training words (10000)',
  },
  newWordMinCount: {
    flag: 'new-word-min-count',
    type: 'number',
    integer: true,
    min: 0,
    placeholder: 'N',
    description: 'text fine-tune: give missing words seen N+ times new trainable vectors (default 0: none)',
  },
  ...textTableOptions,
  extensions: {
    flag: 'extensions',
    type: 'string',
    placeholder: 'LIST',
    description: 'text class folders: file extensions to read, e.g. .txt,.json (default .txt)',
  },
};
