/**
 * Reading an nginx config: its tokens, with `include` directives followed (the way nginx resolves them:
 * a relative path against the main config's directory, a `*` mask in the file name, matches in name
 * order), and the `proxy_cache_path` of a cache zone, so that the simulator can take its size and its
 * `inactive=` from the config NGINX runs, and the caching rules of the places that use the zone
 * (proxy_cache_valid, proxy_cache_min_uses, proxy_ignore_headers, inherited as nginx merges them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ColdrlError, type ErrorCode } from './errors.js';
import { formatBytes, parseCacheSize, parseDuration } from './size.js';

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

/**
 * A proxy_cache_path's cache: its keys_zone name and size (bytes), max_size (bytes; null: unbounded) and
 * inactive= (seconds).
 */
export interface CacheZone { zone: string; keysZone: number; maxSize: number | null; inactive: number }

/** nginx's inactive= when a proxy_cache_path gives none (ngx_http_file_cache_set_slot: 10 minutes). */
export const NGINX_DEFAULT_INACTIVE = 600;

/** The proxy_cache_path whose keys_zone is `zone`, from the config at confPath (includes followed; `toks`: its tokens, read once). */
export function cacheZoneFromConf(confPath: string, zone: string, toks = readConf(confPath)): CacheZone {
  const found: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    if (toks[i]!.quoted || toks[i]!.t !== 'proxy_cache_path') continue;
    const params: string[] = [];
    for (let j = i + 2; j < toks.length && toks[j]!.t !== ';'; j++) params.push(toks[j]!.t);
    const param = (key: string) => params.find((p) => p.startsWith(`${key}=`))?.slice(key.length + 1);
    const [name = '', keysSize] = param('keys_zone')?.split(':') ?? [];
    found.push(name);
    if (name !== zone) continue;
    const max = param('max_size');
    const inactive = param('inactive');
    const what = `${confPath}: proxy_cache_path keys_zone=${zone}`;
    if (keysSize === undefined) throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${what}: keys_zone has no size (keys_zone=${zone}:10m)`);
    return {
      zone,
      keysZone: parseZoneSize(keysSize, `${what}: keys_zone size`, 'COLDRL_ERR_BAD_FORMAT'),
      maxSize: max === undefined ? null : parseZoneSize(max, `${what}: max_size`, 'COLDRL_ERR_BAD_FORMAT'),
      inactive: inactive === undefined ? NGINX_DEFAULT_INACTIVE : parseDuration(inactive, `${what}: inactive`),
    };
  }
  throw new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${confPath}: no proxy_cache_path with keys_zone=${zone}${found.length ? ` (found: ${found.join(', ')})` : ''}`);
}

/** A directive of a config: its name, its arguments, and for a block the directives inside it. */
interface Directive { name: string; args: string[]; block: Directive[] | null }

/** The directives of a config's tokens, blocks nested; an unbalanced brace is a format error, as in nginx. */
function directives(toks: Token[], what: string): Directive[] {
  let i = 0;
  const bad = (why: string) => new ColdrlError('COLDRL_ERR_BAD_FORMAT', `${what}: ${why}`);
  const level = (depth: number): Directive[] => {
    const out: Directive[] = [];
    while (i < toks.length) {
      const name = toks[i++]!;
      if (!name.quoted && name.t === '}') {
        if (depth === 0) throw bad('unexpected "}"');
        return out;
      }
      if (!name.quoted && (name.t === ';' || name.t === '{')) throw bad(`unexpected "${name.t}"`);
      const args: string[] = [];
      for (;;) {
        const a = toks[i++];
        if (a === undefined) throw bad(`unexpected end of file in "${name.t}", expecting ";" or "}"`);
        if (!a.quoted && a.t === ';') { out.push({ name: name.t, args, block: null }); break; }
        if (!a.quoted && a.t === '{') { out.push({ name: name.t, args, block: level(depth + 1) }); break; }
        if (!a.quoted && a.t === '}') throw bad(`unexpected "}" in "${name.t}"`);
        args.push(a.t);
      }
    }
    if (depth > 0) throw bad('unexpected end of file, expecting "}"');
    return out;
  };
  return level(0);
}

/**
 * The caching rules of one place (a location, or a server without locations) whose proxy_cache is a
 * zone, as nginx merges them: a level's own directives, else its parent's (several proxy_cache_valid or
 * proxy_ignore_headers at one level add up). null: the directive is set nowhere above the place.
 */
export interface PlaceRules {
  place: string;
  /** proxy_cache_key's value, `${x}` written `$x` (nginx's default when unset). */
  cacheKey: string;
  /** The proxy_cache_valid lines, `;` between them (--cache-valid's syntax). */
  cacheValid: string | null;
  minUses: string | null;
  /** proxy_ignore_headers' names, lower case, spaces between them. */
  ignoreHeaders: string | null;
}

type Scope = Omit<PlaceRules, 'place'> & { cache: string | null };

/** proxy_cache_key when unset (ngx_http_proxy_module's default). */
export const DEFAULT_CACHE_KEY = '$scheme$proxy_host$request_uri';

/** A key expression with `${x}` written `$x` and variable names in lower case, to compare two of them. */
export const keyExpression = (k: string) => k.replace(/\$\{?([A-Za-z0-9_]+)\}?/g, (_, v: string) => `$${v.toLowerCase()}`);

/**
 * Every place of the config at confPath whose proxy_cache is `zone` (http, server, location levels), in
 * config order, with its rules (`toks`: the config's tokens, read once).
 */
export function cacheZoneRules(confPath: string, zone: string, toks = readConf(confPath)): PlaceRules[] {
  const out: PlaceRules[] = [];
  const walk = (dirs: Directive[], up: Scope, context: 'main' | 'http' | 'server' | 'location', place: string): void => {
    const own: Scope = { ...up };
    const valid: string[] = [], ignore: string[] = [];
    for (const d of dirs) {
      if (d.block !== null) continue;
      if (d.name === 'proxy_cache') own.cache = d.args[0] ?? null;
      else if (d.name === 'proxy_cache_key') own.cacheKey = keyExpression(d.args.join(''));
      else if (d.name === 'proxy_cache_valid') valid.push(d.args.join(' '));
      else if (d.name === 'proxy_cache_min_uses') own.minUses = d.args[0] ?? null;
      else if (d.name === 'proxy_ignore_headers') ignore.push(...d.args.map((h) => h.toLowerCase()));
    }
    if (valid.length) own.cacheValid = valid.join('; ');
    if (ignore.length) own.ignoreHeaders = ignore.join(' ');
    const blocks = dirs.filter((d) => d.block !== null);
    const serves = context === 'location' || (context === 'server' && !blocks.some((d) => d.name === 'location'));
    if (serves && own.cache === zone) out.push({ place, cacheKey: own.cacheKey, cacheValid: own.cacheValid, minUses: own.minUses, ignoreHeaders: own.ignoreHeaders });
    for (const d of blocks) {
      if (d.name === 'http' && context === 'main') walk(d.block!, own, 'http', '');
      else if (d.name === 'server' && context === 'http') {
        const named = d.block!.find((x) => x.name === 'server_name' && x.args.length) ?? d.block!.find((x) => x.name === 'listen' && x.args.length);
        walk(d.block!, own, 'server', `server ${named?.args[0] ?? '(unnamed)'}`);
      } else if (d.name === 'location' && (context === 'server' || context === 'location')) {
        walk(d.block!, own, 'location', `${place} location ${d.args.join(' ')}`);
      }
    }
  };
  walk(directives(toks, confPath), { cache: null, cacheKey: DEFAULT_CACHE_KEY, cacheValid: null, minUses: null, ignoreHeaders: null }, 'main', '');
  return out;
}

/** Options given beside --cache-zone: they win over what the config says. */
export interface ZoneGiven { cacheSize?: string; cacheValid?: string; minUses?: string; ignoreHeaders?: string }

type RuleKey = 'cacheValid' | 'minUses' | 'ignoreHeaders';
/** Each rule's directive, option, and what it is where the config sets none. */
const RULES: [RuleKey, string, string, string][] = [
  ['cacheValid', 'proxy_cache_valid', 'cache-valid', 'none (the simulator keeps 200, 301 and 302 until --default-ttl)'],
  ['minUses', 'proxy_cache_min_uses', 'min-uses', '1'],
  ['ignoreHeaders', 'proxy_ignore_headers', 'ignore-headers', 'none'],
];

/**
 * `--nginx-conf FILE --cache-zone NAME` of `command` (replay, train): the options the zone gives (option
 * values given beside it win), and a line that says what was read. Its max_size, when it has none and
 * no --cache-size is given, is a usage error. The rules are those of the places that use the zone; one
 * that differs between them is a usage error unless its option is given (the simulator applies one).
 */
export function cacheZoneOptions(conf: string, zone: string, command: string, given: ZoneGiven):
  { cacheSize: string; inactive: string; keysZone: string; line: string; places: PlaceRules[] } & Partial<Record<RuleKey, string>> {
  const toks = readConf(conf);
  const z = cacheZoneFromConf(conf, zone, toks);
  if (z.maxSize === null && given.cacheSize === undefined) {
    throw new ColdrlError('COLDRL_ERR_USAGE', `${command}: proxy_cache_path keys_zone=${z.zone} has no max_size (an unbounded cache evicts nothing by size); give --cache-size`);
  }
  const places = cacheZoneRules(conf, zone, toks);
  const rules: Partial<Record<RuleKey, string>> = {};
  const said: string[] = [];
  for (const [key, directive, flag, unset] of places.length ? RULES : []) {
    if (given[key] !== undefined) { said.push(`${directive} from --${flag}`); continue; }
    const at = new Map<string | null, string[]>();
    for (const p of places) at.set(p[key], [...(at.get(p[key]) ?? []), p.place]);
    if (at.size > 1) {
      const each = [...at].map(([v, where]) => `${v === null ? 'none' : `"${v}"`} (${where.join(', ')})`).join('; ');
      throw new ColdrlError('COLDRL_ERR_USAGE', `${command}: the places that use proxy_cache ${zone} differ in ${directive}: ${each}; the simulator applies one: give --${flag}`);
    }
    const v = places[0]![key];
    if (v !== null) rules[key] = v;
    said.push(`${directive} ${v ?? unset}`);
  }
  const use = places.length
    ? `; where proxy_cache ${zone} is used (${places.map((p) => p.place).join(', ')}): ${said.join(', ')}`
    : `; no location has proxy_cache ${zone}: no proxy_cache_valid, proxy_cache_min_uses or proxy_ignore_headers read`;
  return {
    cacheSize: given.cacheSize ?? String(z.maxSize), inactive: String(z.inactive), keysZone: String(z.keysZone), places, ...rules,
    line: `${conf}: proxy_cache_path keys_zone=${z.zone}:${formatBytes(z.keysZone)} (${keysZoneNodes(z.keysZone, z.zone)} nodes) max_size ${z.maxSize === null ? 'none' : formatBytes(z.maxSize)}, inactive ${z.inactive} s${use}`,
  };
}

/** An nginx size (bytes, or k/m/g: powers of 1024), as a number of bytes; `code` on anything else. */
export function parseZoneSize(text: string, what: string, code: ErrorCode = 'COLDRL_ERR_USAGE'): number {
  let b = NaN;
  try { b = parseCacheSize(text).bytes; } catch { /* reported below */ }
  if (!(b > 0)) throw new ColdrlError(code, `${what}: cannot read the size "${text}" (bytes, or k/m/g)`);
  return b;
}

// ngx_slab_init and ngx_http_file_cache_init on x86-64 Linux (nginx 1.22; sizes printed by a program
// compiled against nginx-dev's headers): the pool header, then one slot list and one stats record per
// size class (8 B to 2 KB), then one page descriptor per 4 KB page, the pages page-aligned after them.
const PAGE = 4096;
const SLAB_POOL = 200; // sizeof(ngx_slab_pool_t)
const SLAB_PAGE = 24; // sizeof(ngx_slab_page_t)
const SLAB_CLASSES = 9; // ngx_pagesize_shift - pool->min_shift (12 - 3)
const SLAB_STAT = 32; // sizeof(ngx_slab_stat_t)
/** sizeof(ngx_http_file_cache_node_t), 120 B, and of ngx_http_file_cache_sh_t, 120 B: both in 128-byte chunks. */
const NODE_CHUNK = 128;

/**
 * How many cache nodes (one per cached key) NGINX's slab allocator fits in a keys zone of `bytes`, named
 * `name`. The zone also holds the cache's shared header (one 128-byte chunk, beside the nodes) and its log
 * context " in cache keys zone \"NAME\"" (a page of smaller chunks, or one 128-byte chunk for a name of
 * 42-105 characters). nginx's docs round it to "about 8 thousand keys" per megabyte: 1m gives 8,095.
 * When a worker finds the zone full it evicts the LRU tail itself and sets the node watermark to 7/8 of
 * the count, which the cache manager keeps the count below from then on (Cache's keysLimit).
 */
export function keysZoneNodes(bytes: number, name = 'zone'): number {
  const header = SLAB_POOL + SLAB_CLASSES * (SLAB_PAGE + SLAB_STAT);
  let pages = Math.floor((bytes - header) / (PAGE + SLAB_PAGE));
  const start = Math.ceil((header + pages * SLAB_PAGE) / PAGE) * PAGE;
  pages = Math.min(pages, Math.floor((bytes - start) / PAGE));
  const logCtx = 23 + Buffer.byteLength(name);
  const perPage = PAGE / NODE_CHUNK;
  const nodes = logCtx > NODE_CHUNK / 2 && logCtx <= NODE_CHUNK ? pages * perPage - 2 : (pages - 1) * perPage - 1;
  if (!(nodes > 0)) throw new ColdrlError('COLDRL_ERR_BAD_CACHE_SIZE', `keys zone of ${bytes} B holds no cache node (nginx needs at least 8k)`);
  return nodes;
}
