import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * The user's npm configuration as pacote wants it: the keys npm itself would hand over (registry, scoped
 * registries, per-registry credentials, TLS and proxy settings). Read from the same places npm reads:
 * the global npmrc, the user's ~/.npmrc (or $NPM_CONFIG_USERCONFIG), the project's .npmrc, and
 * npm_config_* environment variables, later ones winning. Graft does not need npm installed for this.
 */
export function loadNpmConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, unknown> {
  const raw = new Map<string, string>();
  const files = [
    globalNpmrc(env),
    envValue(env, 'userconfig') ?? join(env.HOME ?? homedir(), '.npmrc'),
    findProjectNpmrc(cwd),
  ];
  for (const f of files) {
    if (!f) continue;
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const [k, v] of parseNpmrc(text, env)) raw.set(k, v);
  }
  for (const [k, v] of Object.entries(env)) {
    const m = /^npm_config_(.+)$/i.exec(k);
    if (m && v !== undefined) raw.set(m[1]!.toLowerCase().replace(/_/g, '-'), v);
  }
  return toPacoteOptions(raw, cwd);
}

/** ini-style `key = value` lines; `${VAR}` expands from the environment, as npm does. */
export function parseNpmrc(text: string, env: NodeJS.ProcessEnv = {}): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith(';') || t.startsWith('[')) continue;
    const eq = t.indexOf('=');
    if (eq < 0) continue;
    const key = expand(t.slice(0, eq).trim(), env);
    let value = t.slice(eq + 1).trim();
    if (/^".*"$/.test(value) || /^'.*'$/.test(value)) value = value.slice(1, -1);
    out.set(key, expand(value, env));
  }
  return out;
}

function expand(s: string, env: NodeJS.ProcessEnv): string {
  return s.replace(/(\\*)\$\{([^}]+)\}/g, (all, slashes: string, name: string) =>
    slashes.length % 2 ? all.slice(1) : `${slashes}${env[name] ?? ''}`,
  );
}

function toPacoteOptions(raw: Map<string, string>, cwd: string): Record<string, unknown> {
  const opts: Record<string, unknown> = {};
  for (const [k, v] of raw) {
    // Per-registry credentials and scope mappings go through verbatim: npm-registry-fetch reads them so.
    if (k.startsWith('//') || /^@[^:]+:registry$/.test(k)) opts[k] = v;
  }
  const str = (k: string) => raw.get(k);
  if (str('registry')) opts.registry = str('registry');
  if (str('strict-ssl') !== undefined) opts.strictSSL = str('strict-ssl') !== 'false';
  const cafile = str('cafile');
  if (cafile) {
    try {
      opts.ca = readFileSync(resolve(cwd, cafile), 'utf8');
    } catch {
      /* npm ignores an unreadable cafile too */
    }
  } else if (str('ca')) opts.ca = str('ca');
  const proxy = str('https-proxy') ?? str('proxy');
  if (proxy) opts.proxy = proxy;
  if (str('noproxy')) opts.noProxy = str('noproxy');
  if (str('local-address')) opts.localAddress = str('local-address');
  for (const [key, name] of [
    ['fetch-retries', 'retry.retries'],
    ['fetch-timeout', 'timeout'],
  ] as const) {
    const v = Number(str(key));
    if (str(key) !== undefined && Number.isFinite(v)) {
      if (name === 'timeout') opts.timeout = v;
      else opts.retry = { retries: v };
    }
  }
  for (const key of ['_auth', '_authToken', 'username', '_password', 'always-auth']) {
    if (str(key) !== undefined) opts[key] = str(key);
  }
  return opts;
}

function envValue(env: NodeJS.ProcessEnv, key: string): string | undefined {
  return env[`npm_config_${key}`] ?? env[`NPM_CONFIG_${key.toUpperCase()}`];
}

function globalNpmrc(env: NodeJS.ProcessEnv): string | undefined {
  const explicit = envValue(env, 'globalconfig');
  if (explicit) return explicit;
  const prefix = envValue(env, 'prefix') ?? dirname(dirname(process.execPath));
  return join(prefix, 'etc', 'npmrc');
}

/** The nearest .npmrc beside a package.json, walking up from cwd (npm's project config). */
function findProjectNpmrc(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    try {
      readFileSync(join(dir, 'package.json'));
      return join(dir, '.npmrc');
    } catch {
      /* keep walking up */
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
