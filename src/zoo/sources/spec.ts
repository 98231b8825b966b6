import { GraftError } from '../../errors.js';

/**
 * Where a file comes from. Parsed from the one-line forms users write on the command line and in
 * models.json; browser-safe (no Node imports), so a web build can reuse the parsing and the cache keys.
 *
 * - a local path: `./model.onnx`, `/data/web_model/model.json`
 * - an http(s) URL: `https://host/model.onnx#sha256=<hex>` (the hash may also be given separately)
 * - Hugging Face: `hf:owner/repo/path/in/repo[@revision]`
 * - an npm tarball: `npm:name@1.2.3/path/in/package` or `npm:@scope/name@1.2.3/path`
 */
export type SourceSpec = FileSpec | UrlSpec | HfSpec | NpmSpec;

export interface FileSpec {
  kind: 'file';
  path: string;
  sha256?: string;
}

export interface UrlSpec {
  kind: 'url';
  url: string;
  sha256?: string;
}

export interface HfSpec {
  kind: 'hf';
  /** 'owner/name' */
  repo: string;
  /** path of the file inside the repository */
  path: string;
  /** branch, tag or commit; 'main' when not given */
  revision: string;
  sha256?: string;
}

export interface NpmSpec {
  kind: 'npm';
  /** package name, scope included */
  name: string;
  /** an exact version: tarballs are pinned, never resolved from ranges or tags */
  version: string;
  /** path inside the package (no leading 'package/'); a trailing '/' names a folder */
  path: string;
  /** expected tarball integrity (SRI, e.g. 'sha512-...'); the registry's own value is checked either way */
  integrity?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const EXACT_SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const HF_REPO = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface SourceExtras {
  sha256?: string;
  integrity?: string;
}

/** Parses a source string; throws GraftError('BAD_INPUT') saying which form was expected. */
export function parseSource(text: string, extras: SourceExtras = {}): SourceSpec {
  const sha256 = extras.sha256 === undefined ? undefined : checkSha256(extras.sha256, text);
  if (text.startsWith('hf:')) return parseHf(text, sha256);
  if (text.startsWith('npm:')) return parseNpm(text, extras.integrity);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return parseUrl(text, sha256);
  if (text.length === 0) throw badSource(text, 'a path, URL, hf: or npm: source', 'an empty string');
  return { kind: 'file', path: text, sha256 };
}

function parseUrl(text: string, sha256: string | undefined): UrlSpec {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badSource(text, 'a valid URL', text);
  }
  let hash = sha256;
  const m = /^#sha256=([0-9a-fA-F]{64})$/.exec(url.hash);
  if (m) {
    const fromUrl = m[1]!.toLowerCase();
    if (hash && hash !== fromUrl) {
      throw badSource(text, `one sha256 (the URL says ${fromUrl})`, `a different sha256 given as well: ${hash}`);
    }
    hash = fromUrl;
    url.hash = '';
  }
  checkUrlScheme(url, text);
  return { kind: 'url', url: url.toString(), sha256: hash };
}

/**
 * Plain http is accepted only for loopback hosts (tests, local mirrors): anything fetched over the
 * network must come over TLS, even when a hash is pinned, so that an HF token or npm auth never travels
 * in clear text.
 */
export function checkUrlScheme(url: URL, shown = url.toString()): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
  throw badSource(
    shown,
    'an https:// URL (http:// only for localhost)',
    url.protocol === 'http:' ? `http:// to ${url.hostname}` : `scheme ${url.protocol}`,
  );
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function parseHf(text: string, sha256: string | undefined): HfSpec {
  let rest = text.slice(3);
  let revision = 'main';
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    revision = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const parts = rest.split('/');
  const repo = parts.slice(0, 2).join('/');
  const path = parts.slice(2).join('/');
  if (!HF_REPO.test(repo) || !path || parts.some((p) => p === '' || p === '.' || p === '..') || !revision) {
    throw badSource(text, 'hf:owner/repo/path/in/repo[@revision]', text);
  }
  return { kind: 'hf', repo, path, revision, sha256 };
}

function parseNpm(text: string, integrity: string | undefined): NpmSpec {
  const body = text.slice(4);
  // The version's '@' is the first one after an optional leading scope '@'.
  const at = body.indexOf('@', body.startsWith('@') ? 1 : 0);
  const slash = at < 0 ? -1 : body.indexOf('/', at);
  const form = 'npm:name@x.y.z/path/in/package (an exact version)';
  if (at < 0) throw badSource(text, form, 'no @version');
  const name = body.slice(0, at);
  const version = slash < 0 ? body.slice(at + 1) : body.slice(at + 1, slash);
  const path = slash < 0 ? '' : body.slice(slash + 1);
  if (!NPM_NAME.test(name)) throw badSource(text, form, `package name '${name}'`);
  if (!EXACT_SEMVER.test(version)) {
    throw badSource(text, form, `version '${version}' (ranges and tags are not pinned; name one exact version)`);
  }
  if (!path || path.split('/').some((p, i, all) => p === '..' || p === '.' || (p === '' && i < all.length - 1))) {
    throw badSource(text, form, path ? `path '${path}'` : 'no path inside the package');
  }
  if (integrity !== undefined && !/^sha(1|256|384|512)-[A-Za-z0-9+/=]+$/.test(integrity)) {
    throw badSource(text, 'an SRI integrity such as sha512-<base64>', integrity);
  }
  return { kind: 'npm', name, version, path, integrity };
}

function checkSha256(value: string, text: string): string {
  const v = value.toLowerCase();
  if (!HEX64.test(v)) throw badSource(text, 'sha256 as 64 hex digits', value);
  return v;
}

/** The canonical one-line form (the inverse of parseSource, hashes and integrity left out). */
export function formatSource(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'file':
      return spec.path;
    case 'url':
      return spec.url;
    case 'hf':
      return `hf:${spec.repo}/${spec.path}${spec.revision === 'main' ? '' : `@${spec.revision}`}`;
    case 'npm':
      return `npm:${spec.name}@${spec.version}/${spec.path}`;
  }
}

/** The same kind of source, naming a file beside this one (TF.js shards, ONNX external data). */
export function siblingSource(spec: SourceSpec, relative: string): SourceSpec {
  const join = (base: string) => {
    const parts = base.split('/');
    parts.pop();
    for (const p of relative.split('/')) {
      if (p === '..') parts.pop();
      else if (p !== '.' && p !== '') parts.push(p);
    }
    return parts.join('/');
  };
  switch (spec.kind) {
    case 'file':
      return { kind: 'file', path: join(spec.path.replace(/\\/g, '/')) };
    case 'url':
      return { kind: 'url', url: new URL(relative, spec.url).toString() };
    case 'hf':
      return { kind: 'hf', repo: spec.repo, revision: spec.revision, path: join(spec.path) };
    case 'npm':
      return { kind: 'npm', name: spec.name, version: spec.version, integrity: spec.integrity, path: join(spec.path) };
  }
}

/** True when a source needs more than the npm registry the first time it is pulled. */
export function needsInternet(spec: SourceSpec): boolean {
  if (spec.kind === 'hf') return true;
  if (spec.kind === 'url') return !isLoopbackHost(new URL(spec.url).hostname);
  return false;
}

function badSource(text: string, expected: string, found: string): GraftError {
  return new GraftError('BAD_INPUT', `Cannot read the model source '${text}'`, {
    expected,
    found,
    fix: 'write a local path, https://...#sha256=<hex>, hf:owner/repo/file.onnx[@revision] or npm:pkg@1.0.0/path',
  });
}
