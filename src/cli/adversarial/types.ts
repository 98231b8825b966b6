/**
 * The adversarial corpus (issue 10): hostile files run through the real CLI in a child process. Each
 * area of Graft contributes a `*.cases.ts` module listed in `index.ts`; `src/cli/adversarial.test.ts`
 * runs every case with a memory watchdog and checks the common rules (no stack trace, no unexpected
 * failure, no secret echoed, peak RSS under the limit) plus the case's own expectations.
 */
export interface AdversarialContext {
  /** a fresh empty folder for this case */
  dir: string;
  /**
   * a file outside every folder a case's model or data may name, holding `secret`; cases point their
   * hostile references at it (or at other files holding the secret). Output must never contain the secret.
   */
  outsideFile: string;
  secret: string;
  /** the repository root (fixtures/ lives here) */
  root: string;
  /** a cache folder for this case (GRAFT_CACHE_DIR) */
  cacheDir: string;
}

export interface AdversarialResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** peak resident memory of the child in bytes */
  peakRss: number;
  /** milliseconds the command ran */
  ms: number;
}

export interface AdversarialExpect {
  /** the documented exit code */
  exit: number;
  /** must match stderr (e.g. the error's fix line or a "skipped ... fifo" line) */
  stderr?: RegExp;
  stdout?: RegExp;
  /** further checks on the result or on files the command left (throw to fail) */
  check?: (r: AdversarialResult, ctx: AdversarialContext) => void | Promise<void>;
}

export interface AdversarialRun {
  /** graft's arguments, without the program */
  argv: string[];
  /** working directory (default: ctx.dir) */
  cwd?: string;
  env?: Record<string, string>;
  expect: AdversarialExpect;
  /** wall-clock limit; a hang fails the case (default 60 s) */
  timeoutMs?: number;
}

export interface AdversarialCase {
  /** short, unique: 'tfjs-weights-path-escape' */
  name: string;
  /** the item of issue 10 it covers (1-10) */
  item: number;
  /** builds the hostile files in ctx.dir and says what to run and expect; may return several runs (in order) */
  setup(ctx: AdversarialContext): AdversarialRun | AdversarialRun[] | Promise<AdversarialRun | AdversarialRun[]>;
}
