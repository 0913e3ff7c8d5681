/**
 * Reading an nginx config: its tokens, with `include` directives followed (the way nginx resolves them:
 * a relative path against the main config's directory, a `*` mask in the file name, matches in name
 * order), and the `proxy_cache_path` of a cache zone, so that the simulator can take its size and its
 * `inactive=` from the config NGINX runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ColdrlError } from './errors.js';
import { parseCacheSize, parseDuration } from './size.js';

export interface Token { t: string; quoted: boolean }

/** How deep includes may nest (nginx has no limit; a loop must still end). */
const MAX_INCLUDE_DEPTH = 16;

/** Tokens of an nginx config: words, quoted strings (unescaped), ';', '{', '}'; comments dropped. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (c === ';' || c === '{' || c === '}') { out.push({ t: c, quoted: false }); i++; continue; }
    if (c === '"' || c === "'") {
      let s = '';
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) {
          const d = text[i + 1]!;
          s += d === 'n' ? '\n' : d === 't' ? '\t' : d === 'r' ? '\r' : d === '"' || d === "'" || d === '\\' ? d : `\\${d}`;
          i += 2;
        } else s += text[i++];
      }
      if (i >= text.length) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', 'nginx config: unterminated quoted string');
      i++;
      out.push({ t: s, quoted: true });
      continue;
    }
    let s = '';
    while (i < text.length && !/[\s;{}]/.test(text[i]!)) s += text[i++];
    out.push({ t: s, quoted: false });
  }
  return out;
}

/** The tokens of the config at confPath and of every file it includes, in order. */
export function readConf(confPath: string): Token[] {
  const prefix = dirname(confPath);
  const read = (file: string, depth: number): Token[] => {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch {
      throw new ColdrlError('COLDRL_ERR_FILE_NOT_FOUND', `${file}: cannot read nginx config`);
    }
    const toks = tokenize(text);
    const out: Token[] = [];
    for (let i = 0; i < toks.length; i++) {
      const tk = toks[i]!;
      if (tk.quoted || tk.t !== 'include' || toks[i + 2]?.t !== ';') { out.push(tk); continue; }
      if (depth >= MAX_INCLUDE_DEPTH) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${file}: includes nested deeper than ${MAX_INCLUDE_DEPTH}`);
      for (const inc of expandInclude(toks[i + 1]!.t, prefix)) out.push(...read(inc, depth + 1));
      i += 2;
    }
    return out;
  };
  return read(confPath, 0);
}

/** The files an include names: one path, or the matches of a `*` mask in its file name (none is fine, as in nginx). */
function expandInclude(path: string, prefix: string): string[] {
  const full = isAbsolute(path) ? path : join(prefix, path);
  const name = basename(full);
  if (!name.includes('*')) return [full];
  const re = new RegExp(`^${name.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  let names: string[];
  try { names = readdirSync(dirname(full)); } catch { return []; }
  return names.filter((n) => re.test(n)).sort().map((n) => join(dirname(full), n));
}

/** A proxy_cache_path's cache: its keys_zone name, max_size (bytes; null: unbounded) and inactive= (seconds). */
export interface CacheZone { zone: string; maxSize: number | null; inactive: number }

/** nginx's inactive= when a proxy_cache_path gives none (ngx_http_file_cache_set_slot: 10 minutes). */
export const NGINX_DEFAULT_INACTIVE = 600;

/** The proxy_cache_path whose keys_zone is `zone`, from the config at confPath (includes followed). */
export function cacheZoneFromConf(confPath: string, zone: string): CacheZone {
  const toks = readConf(confPath);
  const found: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    if (toks[i]!.quoted || toks[i]!.t !== 'proxy_cache_path') continue;
    const params: string[] = [];
    for (let j = i + 2; j < toks.length && toks[j]!.t !== ';'; j++) params.push(toks[j]!.t);
    const param = (key: string) => params.find((p) => p.startsWith(`${key}=`))?.slice(key.length + 1);
    const name = param('keys_zone')?.split(':')[0] ?? '';
    found.push(name);
    if (name !== zone) continue;
    const max = param('max_size');
    const inactive = param('inactive');
    const what = `${confPath}: proxy_cache_path keys_zone=${zone}`;
    return {
      zone,
      maxSize: max === undefined ? null : sizeOf(max, `${what}: max_size`),
      inactive: inactive === undefined ? NGINX_DEFAULT_INACTIVE : parseDuration(inactive, `${what}: inactive`),
    };
  }
  throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${confPath}: no proxy_cache_path with keys_zone=${zone}${found.length ? ` (found: ${found.join(', ')})` : ''}`);
}

/** An nginx size (bytes, or k/m/g: powers of 1024), as a number of bytes. */
function sizeOf(text: string, what: string): number {
  const b = parseCacheSize(text).bytes;
  if (!(b > 0)) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${what}: cannot read the size "${text}"`);
  return b;
}
