import { GraftError } from '../../errors.js';
import { checkGraph } from '../../onnx/check.js';
import { type Model, Node } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { type HostTensor, Session, type SessionOptions } from '../../runtime/session.js';
import { BAG_INPUTS, padTokenIds } from './bag-model.js';
import { CLASSIFIER_LOGITS, CLASSIFIER_PROBABILITIES, META } from '../pipeline-graft.js';
import { runInBatches } from './features.js';
import { SentenceTokenizer, type TextTokenizer, encoderFeeds } from './sentence-encoder.js';
import { SentencePieceTokenizer, readScoredPieces } from './sentencepiece.js';
import { type WordTokenizerConfig, stripEmailHeaders, stripHtmlTags, wordTokenizerConfig } from './tokenizer.js';
import { Vocabulary, vocabularyOf } from './vocabulary.js';

/** Metadata keys of an exported text classifier. */
export const TEXT_META = {
  /** JSON TextModelInfo: how raw text becomes the model's inputs */
  text: 'graft.text',
  labels: META.labels,
  /** word-vector models: JSON word list, row i of the table is word i */
  vocabulary: 'graft.vocabulary',
  /** sentence encoders: the tokenizer.json text */
  tokenizer: 'graft.tokenizer',
  /** SentencePiece sentence encoders: JSON [piece, score] pairs, id i is pair i */
  sentencePiece: 'graft.sentencepiece',
  tokenizerConfig: 'graft.tokenizer_config',
} as const;

export type TextModelInfo =
  | { kind: 'word-vectors'; tokenizer: WordTokenizerConfig }
  | {
      kind: 'sentence-encoder';
      maxTokens: number;
      inputs: string[];
      tokenizer?: 'sentencepiece';
      /** raw e-mails and HTML handled before tokenizing, as for word vectors */
      prepare?: TextPreparation;
    };

/** What is removed from a raw text before a sentence encoder's tokenizer sees it. */
export interface TextPreparation {
  emailHeaders?: 'keep' | 'drop' | 'subject';
  stripHtml?: boolean;
}

/** The text with e-mail headers and HTML handled as `p` says. */
export function prepareText(text: string, p: TextPreparation | undefined): string {
  let t = text;
  if (p?.emailHeaders && p.emailHeaders !== 'keep') t = stripEmailHeaders(t, p.emailHeaders === 'subject');
  if (p?.stripHtml) t = stripHtmlTags(t);
  return t;
}

/** Turns texts into model feeds: token ids per text, then padded batches. */
export interface TextInputEncoder {
  readonly info: TextModelInfo;
  encode(text: string): Int32Array;
  feeds(lists: readonly Int32Array[]): Record<string, HostTensor>;
}

export class WordInputEncoder implements TextInputEncoder {
  readonly info: TextModelInfo;
  constructor(
    readonly vocabulary: Vocabulary,
    readonly tokenizer: WordTokenizerConfig,
  ) {
    this.info = { kind: 'word-vectors', tokenizer };
  }
  encode(text: string): Int32Array {
    return this.vocabulary.encode(text, this.tokenizer);
  }
  feeds(lists: readonly Int32Array[]): Record<string, HostTensor> {
    const p = padTokenIds(lists, 'int64');
    return {
      [BAG_INPUTS.ids]: { dtype: 'int64', dims: p.dims, data: p.ids },
      [BAG_INPUTS.mask]: { dtype: 'float32', dims: p.dims, data: p.mask },
    };
  }
}

export class SentenceInputEncoder implements TextInputEncoder {
  readonly info: TextModelInfo;
  constructor(
    readonly tokenizer: TextTokenizer,
    readonly inputs: readonly string[],
    readonly prepare?: TextPreparation,
  ) {
    const p = prepare && (prepare.emailHeaders !== undefined || prepare.stripHtml) ? { prepare: { ...prepare } } : {};
    this.info = {
      kind: 'sentence-encoder',
      maxTokens: tokenizer.maxTokens,
      inputs: [...inputs],
      ...(tokenizer instanceof SentencePieceTokenizer ? { tokenizer: 'sentencepiece' as const } : {}),
      ...p,
    };
  }
  encode(text: string): Int32Array {
    return this.tokenizer.encode(prepareText(text, this.prepare));
  }
  feeds(lists: readonly Int32Array[]): Record<string, HostTensor> {
    return encoderFeeds(lists, this.inputs);
  }
}

export interface FinalizeOptions {
  labels: readonly string[];
  /** softmax temperature fitted on validation logits (default 1) */
  temperature?: number;
  provenance?: Record<string, unknown>;
}

/**
 * Makes a trained text model (token inputs -> one logits output) into the exported classifier, as the
 * image side does: a final division by the temperature gives the calibrated 'logits', a softmax the
 * 'probabilities'; labels, temperature and provenance go into the metadata.
 */
export function finalizeTextClassifier(model: Model, encoder: TextInputEncoder, o: FinalizeOptions): Model {
  const t = o.temperature ?? 1;
  if (!(t > 0 && Number.isFinite(t))) {
    throw new GraftError('BAD_INPUT', 'The temperature must be a positive finite number', { found: String(t) });
  }
  const m = model.clone();
  const g = m.graph;
  if (g.outputs.length !== 1) {
    throw new GraftError('BAD_GRAPH', 'A text model to export must have exactly one output (its logits)', {
      found: g.outputs.map((x) => x.name).join(', '),
    });
  }
  const raw = g.outputs[0]!.name;
  const uncalibrated = g.uniqueName('uncalibrated_logits');
  g.replaceAllUses(raw, uncalibrated);
  g.valueInfo.delete(raw);
  for (const n of g.nodes) n.outputs = n.outputs.map((v) => (v === raw ? uncalibrated : v));
  const tName = g.uniqueName('calibration.temperature');
  g.initializers.set(tName, Tensor.from(tName, Float32Array.of(t), []));
  g.addNode(
    new Node({
      opType: 'Div',
      inputs: [uncalibrated, tName],
      outputs: [CLASSIFIER_LOGITS],
      name: g.uniqueName('calibration_div'),
    }),
  );
  g.addNode(
    new Node({
      opType: 'Softmax',
      inputs: [CLASSIFIER_LOGITS],
      outputs: [CLASSIFIER_PROBABILITIES],
      attrs: { axis: { type: 'int', value: 1 } },
      name: g.uniqueName('calibration_softmax'),
    }),
  );
  const k = o.labels.length;
  g.outputs = [
    { name: CLASSIFIER_LOGITS, dtype: 'float32', shape: ['N', k] },
    { name: CLASSIFIER_PROBABILITIES, dtype: 'float32', shape: ['N', k] },
  ];
  g.touch().cleanup();
  checkGraph(g);
  writeTextMetadata(m, encoder, o.labels);
  m.metadata.set(META.task, 'text-classification');
  m.metadata.set(META.temperature, String(t));
  m.metadata.set(META.outputs, JSON.stringify({ logits: CLASSIFIER_LOGITS, probabilities: CLASSIFIER_PROBABILITIES }));
  m.metadata.set(META.provenance, JSON.stringify(o.provenance ?? {}));
  m.producerName = 'graft';
  return m;
}

/** Writes what `TextClassifier.fromModel` needs to read raw text into the model's metadata. */
export function writeTextMetadata(model: Model, encoder: TextInputEncoder, labels: readonly string[]): void {
  model.metadata.set(TEXT_META.text, JSON.stringify(encoder.info));
  model.metadata.set(TEXT_META.labels, JSON.stringify(labels));
  if (encoder instanceof WordInputEncoder) {
    model.metadata.set(TEXT_META.vocabulary, JSON.stringify(encoder.vocabulary.words));
  } else if (encoder instanceof SentenceInputEncoder) {
    const tok = encoder.tokenizer;
    if (tok instanceof SentencePieceTokenizer) {
      model.metadata.set(TEXT_META.sentencePiece, JSON.stringify(tok.pieces));
    } else if (tok instanceof SentenceTokenizer) {
      model.metadata.set(TEXT_META.tokenizer, JSON.stringify(tok.tokenizerJson));
      model.metadata.set(TEXT_META.tokenizerConfig, JSON.stringify(tok.tokenizerConfig));
    }
  }
}

function parseJsonMeta(model: Model, key: string, file: string | undefined): unknown {
  const raw = model.metadata.get(key);
  if (raw === undefined) {
    throw new GraftError('BAD_MODEL', `The model has no '${key}' metadata`, {
      file,
      expected: 'a text classifier exported by graft train',
      found: `metadata keys: ${[...model.metadata.keys()].join(', ') || 'none'}`,
      fix: 'train the model with graft train on text data (or pass the run folder it wrote)',
    });
  }
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new GraftError('BAD_MODEL', `The model's '${key}' metadata is not JSON`, {
      file,
      found: raw.slice(0, 60),
      fix: 'export the model again',
      cause: e,
    });
  }
}

/** True for models `graft train` exported from text data (predict uses this to choose the text path). */
export function isTextClassifier(model: Model): boolean {
  return model.metadata.has(TEXT_META.text);
}

/** The input encoder and class names stored in an exported text classifier. */
export function textEncoderOf(model: Model, file?: string): { encoder: TextInputEncoder; labels: string[] } {
  const info = parseJsonMeta(model, TEXT_META.text, file) as TextModelInfo;
  const labels = parseJsonMeta(model, TEXT_META.labels, file);
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
    throw new GraftError('BAD_MODEL', 'The model labels are not a list of names', { file, fix: 'export again' });
  }
  if (info?.kind === 'word-vectors') {
    return {
      encoder: new WordInputEncoder(vocabularyOf(model, file), wordTokenizerConfig(info.tokenizer)),
      labels,
    };
  }
  if (info?.kind === 'sentence-encoder' && info.tokenizer === 'sentencepiece') {
    const pieces = readScoredPieces(parseJsonMeta(model, TEXT_META.sentencePiece, file), file);
    return {
      encoder: new SentenceInputEncoder(new SentencePieceTokenizer(pieces, info.maxTokens), info.inputs, info.prepare),
      labels,
    };
  }
  if (info?.kind === 'sentence-encoder') {
    const json = parseJsonMeta(model, TEXT_META.tokenizer, file) as Record<string, unknown>;
    const config = model.metadata.has(TEXT_META.tokenizerConfig)
      ? (parseJsonMeta(model, TEXT_META.tokenizerConfig, file) as Record<string, unknown>)
      : {};
    return {
      encoder: new SentenceInputEncoder(new SentenceTokenizer(json, config, info.maxTokens), info.inputs, info.prepare),
      labels,
    };
  }
  throw new GraftError('BAD_MODEL', 'Unknown kind of text model', {
    file,
    value: TEXT_META.text,
    expected: "'word-vectors' or 'sentence-encoder'",
    found: String((info as { kind?: unknown })?.kind),
    fix: 'export the model with this version of Graft',
  });
}

export interface TextPrediction {
  label: string;
  /** class index of `label` */
  index: number;
  /** softmax probabilities, in class-index order */
  probabilities: number[];
}

/** An exported text classifier, ready for raw text. Call `dispose()` when done. */
export class TextClassifier {
  private constructor(
    readonly model: Model,
    readonly encoder: TextInputEncoder,
    readonly labels: readonly string[],
    private readonly session: Session,
  ) {}

  static async fromModel(
    model: Model,
    opts: { session?: SessionOptions; file?: string } = {},
  ): Promise<TextClassifier> {
    const { encoder, labels } = textEncoderOf(model, opts.file);
    return new TextClassifier(model, encoder, labels, await Session.create(model, opts.session));
  }

  /** Raw logits, [texts.length, classes] row-major. */
  async logits(texts: readonly string[], batchSize = 64): Promise<Float32Array> {
    const lists = texts.map((t) => this.encoder.encode(t));
    const out = await runInBatches({
      session: this.session,
      count: lists.length,
      lengthOf: (i) => lists[i]!.length,
      feeds: (idx) => this.encoder.feeds(idx.map((i) => lists[i]!)),
      output: this.session.outputNames.includes(CLASSIFIER_LOGITS) ? CLASSIFIER_LOGITS : this.session.outputNames[0]!,
      batchSize,
    });
    return out.data;
  }

  async predict(texts: readonly string[], batchSize = 64): Promise<TextPrediction[]> {
    const logits = await this.logits(texts, batchSize);
    const k = this.labels.length;
    return texts.map((_, i) => {
      const row = Array.from(logits.subarray(i * k, (i + 1) * k));
      const top = Math.max(...row);
      const exp = row.map((v) => Math.exp(v - top));
      const sum = exp.reduce((a, b) => a + b, 0);
      const probabilities = exp.map((e) => e / sum);
      const index = probabilities.indexOf(Math.max(...probabilities));
      return { label: this.labels[index]!, index, probabilities };
    });
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
