/**
 * The report: reads the store and writes DIR/index.html with SVG charts beside it:
 *   hitratio-<trace>.svg   hit ratio against cache size, one line per policy (latest evaluation of each)
 *   training-<run>.svg     training curve of a run (running hit ratio and TD loss against decisions)
 *   sidecar-latency.svg    the latest sidecar benchmark's round-trip latency distribution
 * No browser is needed: the SVG files are the pictures, the HTML only arranges them with the tables.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { EvaluationRow, Store } from '../../replay/store.js';
import { barChart, esc, lineChart, type Series } from './svg.js';

export interface ReportFiles { dir: string; html: string; images: string[] }

const slug = (s: string) => basename(s).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
const mib = (b: number) => `${Number((b / 2 ** 20).toPrecision(3))} MiB`;

/** Latest evaluation per (trace, policy, cache bytes). */
function latestEvaluations(rows: EvaluationRow[]): Map<string, EvaluationRow[]> {
  const latest = new Map<string, EvaluationRow>();
  for (const r of rows) latest.set(`${r.trace}\u0000${r.policy}\u0000${r.cache_bytes}`, r);
  const byTrace = new Map<string, EvaluationRow[]>();
  for (const r of latest.values()) {
    if (!byTrace.has(r.trace)) byTrace.set(r.trace, []);
    byTrace.get(r.trace)!.push(r);
  }
  return byTrace;
}

export function writeReport(store: Store, dir: string): ReportFiles {
  mkdirSync(dir, { recursive: true });
  const images: string[] = [];
  const sections: string[] = [];
  const put = (name: string, svg: string) => { writeFileSync(join(dir, name), svg); images.push(name); return name; };

  for (const [trace, rows] of latestEvaluations(store.evaluations())) {
    const policies = [...new Set(rows.map((r) => r.policy))];
    const sizes = [...new Set(rows.map((r) => r.cache_bytes))].sort((a, b) => a - b);
    const label = (p: string) => (p.startsWith('coldrl:') ? 'coldrl (learned)' : p.length > 24 ? `${p.slice(0, 22)}..` : p);
    const series: Series[] = policies.map((p) => ({
      name: label(p),
      emphasis: p.startsWith('coldrl:'),
      dashed: /belady|oracle/.test(p),
      points: rows.filter((r) => r.policy === p).map((r) => [r.cache_bytes, r.hit_ratio] as [number, number]),
    }));
    const img = sizes.length >= 2 ? put(`hitratio-${slug(trace)}.svg`, lineChart({
      title: `Hit ratio by cache size: ${basename(trace)}`, xLabel: 'cache size', yLabel: 'hit ratio', series, logX: true, xFormat: mib,
    })) : null;
    const table = `<table><tr><th>policy</th>${sizes.map((s) => `<th>${esc(mib(s))}</th>`).join('')}</tr>${policies.map((p) => `<tr><td>${esc(p)}</td>${sizes.map((s) => {
      const r = rows.find((x) => x.policy === p && x.cache_bytes === s);
      return `<td>${r ? r.hit_ratio.toFixed(4) : ''}</td>`;
    }).join('')}</tr>`).join('')}</table>`;
    sections.push(`<h2>Hit ratio: ${esc(trace)}</h2>${img ? `<img src="${img}" alt="hit ratio chart">` : ''}${table}`);
  }

  for (const run of store.runs()) {
    const hit = store.series(run.id, 'charts/hit_ratio');
    const loss = store.series(run.id, 'losses/td_loss');
    if (hit.length === 0 && loss.length === 0) continue;
    const maxLoss = Math.max(1e-12, ...loss.map((p) => p[1]));
    const img = put(`training-${run.id}.svg`, lineChart({
      title: `Training run ${run.id}: ${basename(run.trace)}`, xLabel: 'eviction decisions', yLabel: 'value',
      series: [
        { name: 'running hit ratio', points: hit },
        { name: `TD loss / ${maxLoss.toPrecision(2)}`, points: loss.map(([x, y]) => [x, y / maxLoss] as [number, number]), dashed: true },
      ],
    }));
    sections.push(`<h2>Training run ${run.id}</h2><p>${esc(run.name)}; status ${esc(run.status)}; backend ${esc(run.backend)}; ` +
      `${esc(run.started)} to ${esc(run.ended ?? '-')}</p><img src="${img}" alt="training curve">`);
  }

  const sidecar = store.benchmarks().filter((b) => b.name === 'sidecar').at(-1);
  if (sidecar) {
    const r = JSON.parse(sidecar.result) as Record<string, number | string>;
    const keys = ['p50us', 'p95us', 'p99us', 'p999us', 'maxus'].filter((k) => typeof r[k] === 'number');
    const img = put('sidecar-latency.svg', barChart({
      title: `Sidecar round trip (${r.transport ?? 'framed'}, K=${r.k ?? '?'}, ${r.requests ?? '?'} requests)`,
      xLabel: 'quantile', yLabel: 'microseconds (log scale)', logY: true,
      bars: keys.map((k) => ({ label: k.replace('us', '').replace('p999', 'p99.9'), value: r[k] as number })),
    }));
    const fr = typeof r.fallbackRate === 'number' ? (r.fallbackRate * 100).toFixed(2) : '?';
    sections.push(`<h2>Sidecar latency</h2><p>${keys.map((k) => `${esc(k)} ${r[k]}`).join(', ')}; fallback rate ${fr}%</p><img src="${img}" alt="sidecar latency">`);
  }

  const models = store.models();
  if (models.length) {
    sections.push(`<h2>Models</h2><table><tr><th>id</th><th>run</th><th>path</th><th>sha256</th></tr>${models.map((m) =>
      `<tr><td>${m.id}</td><td>${m.run ?? ''}</td><td>${esc(m.path)}</td><td><code>${esc(m.sha256.slice(0, 16))}</code></td></tr>`).join('')}</table>`);
  }

  const html = `<!doctype html><html><head><meta charset="utf-8"><title>coldrl report</title>
<style>body{font-family:Helvetica,Arial,sans-serif;max-width:980px;margin:2em auto;color:#222}img{display:block;margin:1em 0;max-width:100%}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head>
<body><h1>coldrl report</h1><p>Store: ${esc(store.path)}; written ${esc(new Date().toISOString())}.</p>
${sections.join('\n') || '<p>The store holds no evaluations, runs or benchmarks yet.</p>'}
</body></html>
`;
  writeFileSync(join(dir, 'index.html'), html);
  return { dir, html: join(dir, 'index.html'), images };
}
