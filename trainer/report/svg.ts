/**
 * Small, dependency-free SVG charts for reports (rendered without a browser: the SVG text is the picture).
 * lineChart: several named series over a shared x axis (optionally log-scaled); barChart: labelled bars.
 */

export interface Series { name: string; points: [number, number][]; dashed?: boolean; /** Drawn thick and black (the learned policy). */ emphasis?: boolean }

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  width?: number;
  height?: number;
  /** Format of x tick labels. */
  xFormat?: (x: number) => string;
  yMin?: number;
  yMax?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39'];

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  const legendW = 170;
  const m = { l: 64, r: legendW + 16, t: 40, b: 52 };
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const tx = (x: number) => (o.logX ? Math.log10(x) : x);
  let x0 = Math.min(...pts.map((p) => tx(p[0])));
  let x1 = Math.max(...pts.map((p) => tx(p[0])));
  if (!(x1 > x0)) { x0 -= 0.5; x1 += 0.5; }
  let y0 = o.yMin ?? Math.min(...pts.map((p) => p[1]));
  let y1 = o.yMax ?? Math.max(...pts.map((p) => p[1]));
  if (!(y1 > y0)) { y0 -= 0.05; y1 += 0.05; }
  const pad = (y1 - y0) * 0.05;
  if (o.yMin === undefined) y0 -= pad;
  if (o.yMax === undefined) y1 += pad;
  const px = (x: number) => m.l + ((tx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - legendW / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  // axes and grid
  const yt = niceTicks(y0, y1);
  for (const v of yt) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${esc(String(Number(v.toFixed(4))))}</text>`);
  }
  const xs = [...new Set(pts.map((p) => p[0]))].sort((a, b) => a - b);
  const xticks = xs.length <= 8 ? xs : niceTicks(x0, x1).map((v) => (o.logX ? 10 ** v : v));
  for (const v of xticks) {
    const X = px(v).toFixed(1);
    parts.push(`<line x1="${X}" x2="${X}" y1="${m.t}" y2="${H - m.b}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${X}" y="${H - m.b + 16}" text-anchor="middle">${esc(o.xFormat ? o.xFormat(v) : String(Number(v.toPrecision(4))))}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const c = s.emphasis ? '#000000' : PALETTE[i % PALETTE.length]!;
    const sw = s.emphasis ? 3.5 : 2;
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    if (p.length > 0) {
      const d = p.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="${sw}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      if (p.length <= 40) for (const [x, y] of p) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`);
    }
    const ly = m.t + 8 + i * 18;
    parts.push(`<line x1="${W - legendW}" x2="${W - legendW + 22}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="${sw}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${W - legendW + 28}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface Bar { label: string; value: number }

export function barChart(o: { title: string; xLabel: string; yLabel: string; bars: Bar[]; width?: number; height?: number; logY?: boolean }): string {
  const W = o.width ?? 720;
  const H = o.height ?? 360;
  const m = { l: 64, r: 16, t: 40, b: 64 };
  const vals = o.bars.map((b) => b.value);
  const tv = (v: number) => (o.logY ? Math.log10(Math.max(1, v)) : v);
  const y1 = Math.max(1e-9, ...vals.map(tv)) * 1.05;
  const bw = (W - m.l - m.r) / Math.max(1, o.bars.length);
  const py = (v: number) => H - m.b - (tv(v) / y1) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  for (const v of niceTicks(0, y1)) {
    const val = o.logY ? 10 ** v : v;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${(H - m.b - (v / y1) * (H - m.t - m.b)).toFixed(1)}" y2="${(H - m.b - (v / y1) * (H - m.t - m.b)).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(H - m.b - (v / y1) * (H - m.t - m.b) + 4).toFixed(1)}" text-anchor="end">${esc(String(Number(val.toPrecision(3))))}</text>`);
  }
  o.bars.forEach((b, i) => {
    const x = m.l + i * bw + bw * 0.1;
    const y = py(b.value);
    parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(bw * 0.8).toFixed(1)}" height="${(H - m.b - y).toFixed(1)}" fill="${PALETTE[0]}"/>`);
    if (o.bars.length <= 24) parts.push(`<text x="${(x + bw * 0.4).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle">${esc(b.label)}</text>`);
  });
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 20}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
