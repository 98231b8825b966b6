/**
 * The one error type Graft throws for anything a user can cause or fix.
 * Its message always says what was expected, what was found, and how to fix it;
 * the structured fields let tools (and the CLI's --json) report it without parsing text.
 */
export type GraftErrorCode =
  | 'BAD_INPUT'
  | 'BAD_MODEL'
  | 'BAD_GRAPH'
  | 'UNSUPPORTED_OP'
  | 'NO_GRADIENT'
  | 'SHAPE_MISMATCH'
  | 'NOT_FOUND'
  | 'RUNTIME'
  | 'IO'
  | 'NETWORK'
  | 'INTEGRITY'
  | 'CHECKPOINT'
  | 'CONFIG'
  | 'CANCELLED';

export interface GraftErrorFields {
  file?: string;
  node?: string;
  op?: string;
  opset?: number;
  inputIndex?: number;
  value?: string;
  expected?: string;
  found?: string;
  fix?: string;
  /** valid choices, listed when a lookup failed */
  choices?: readonly string[];
  cause?: unknown;
}

export class GraftError extends Error {
  readonly code: GraftErrorCode;
  readonly fields: Omit<GraftErrorFields, 'cause'>;

  constructor(code: GraftErrorCode, what: string, fields: GraftErrorFields = {}) {
    const { cause, ...rest } = fields;
    super(formatMessage(what, rest), cause === undefined ? undefined : { cause });
    this.name = 'GraftError';
    this.code = code;
    this.fields = rest;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.fields };
  }
}

function formatMessage(what: string, f: Omit<GraftErrorFields, 'cause'>): string {
  const where: string[] = [];
  if (f.file) where.push(`file ${f.file}`);
  if (f.node) where.push(`node '${f.node}'`);
  if (f.op) where.push(`op ${f.op}${f.opset !== undefined ? ` (opset ${f.opset})` : ''}`);
  if (f.inputIndex !== undefined) where.push(`input #${f.inputIndex}`);
  if (f.value) where.push(`value '${f.value}'`);
  let msg = where.length ? `${what} [${where.join(', ')}]` : what;
  if (f.expected !== undefined) msg += `\n  expected: ${f.expected}`;
  if (f.found !== undefined) msg += `\n  found:    ${f.found}`;
  if (f.choices && f.choices.length) msg += `\n  valid choices: ${f.choices.join(', ')}`;
  if (f.fix) msg += `\n  fix: ${f.fix}`;
  return msg;
}

export function isGraftError(e: unknown): e is GraftError {
  return e instanceof GraftError;
}
