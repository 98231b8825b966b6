/** HTML building blocks shared by the run and comparison reports: escaping, number formats, the page shell. */

export function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** An ISO time as "2025-05-01 09:30 UTC"; anything unparsable as given. */
export function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(digits)}%`;
}

export function fixed(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined ? '–' : v.toFixed(digits);
}

export function duration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Compact numbers for table cells: 0.0001 → 1.0e-4, 1234.5 → 1234.5, 3 → 3. */
export function num(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export interface Card {
  label: string;
  value: string;
  detail?: string;
}

export function cards(items: readonly Card[]): string {
  const cells = items.map(
    (c) =>
      `<div class="card"><div class="card-label">${esc(c.label)}</div><div class="card-value">${esc(c.value)}</div>` +
      (c.detail ? `<div class="card-detail">${esc(c.detail)}</div>` : '') +
      `</div>`,
  );
  return `<div class="cards">${cells.join('')}</div>`;
}

export function section(id: string, title: string, body: string, lead?: string): string {
  return (
    `<section id="${esc(id)}"><h2>${esc(title)}</h2>` +
    (lead ? `<p class="lead">${lead}</p>` : '') +
    `${body}</section>`
  );
}

export function figure(svg: string, caption?: string, name?: string): string {
  return (
    `<figure class="chart"${name ? ` data-chart="${esc(name)}"` : ''}>${svg}` +
    (caption ? `<figcaption>${caption}</figcaption>` : '') +
    `</figure>`
  );
}

/** A table from rows of already-escaped cell HTML; `numeric` columns are right-aligned. */
export function table(head: readonly string[], rows: readonly string[][], numeric: readonly number[] = []): string {
  const cls = (i: number): string => (numeric.includes(i) ? ' class="n"' : '');
  return (
    `<div class="tw"><table><thead><tr>${head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`).join('') +
    `</tbody></table></div>`
  );
}

export interface PageOptions {
  /** the small line above the title, e.g. "graft · training report" */
  kicker: string;
  title: string;
  subtitle: string;
  nav: readonly { id: string; label: string }[];
  generated: string;
}

/** A whole HTML document: inline CSS, no script, no external resource. */
export function page(opts: PageOptions, body: string): string {
  const nav = opts.nav.map((n) => `<a href="#${esc(n.id)}">${esc(n.label)}</a>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="graft">
<title>${esc(opts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><div class="wrap">
<div class="brand">${esc(opts.kicker)}</div>
<h1>${esc(opts.title)}</h1>
<p class="subtitle">${opts.subtitle}</p>
<nav>${nav}</nav>
</div></header>
<main class="wrap">
${body}
</main>
<footer class="wrap">${opts.generated}</footer>
</body>
</html>
`;
}

const CSS = `
:root{--ink:#0f172a;--ink2:#334155;--muted:#64748b;--line:#e2e8f0;--bg:#f6f7fb;--card:#fff;--accent:#2563eb;--warn:#b45309;--warnbg:#fffbeb}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 ${'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif'};}
.wrap{max-width:1180px;margin:0 auto;padding:0 24px}
header.top{background:#fff;border-bottom:1px solid var(--line);padding:20px 0 0}
.brand{font-size:12px;font-weight:700;letter-spacing:.12em;text-transform:uppercase;color:var(--accent)}
h1{font-size:24px;line-height:1.25;margin:4px 0 2px;font-weight:650;word-break:break-word}
.subtitle{margin:0 0 12px;color:var(--muted)}
.subtitle b{color:var(--ink2);font-weight:600}
nav{display:flex;gap:4px;flex-wrap:wrap;margin-top:8px}
nav a{color:var(--ink2);text-decoration:none;padding:8px 10px;border-bottom:2px solid transparent;font-weight:500}
nav a:hover{color:var(--accent);border-bottom-color:var(--accent)}
main.wrap{padding-top:20px;padding-bottom:24px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px 20px;margin:0 0 18px}
h2{font-size:17px;margin:0 0 4px;font-weight:650}
h3{font-size:14px;margin:16px 0 6px;font-weight:600;color:var(--ink2)}
.lead{margin:0 0 14px;color:var(--muted);max-width:120ch}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:12px;margin:0 0 18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card-label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card-value{font-size:22px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.card-detail{font-size:12px;color:var(--muted)}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:18px;align-items:start}
.grid2>*{min-width:0}
.eval{display:flex;flex-wrap:wrap;gap:18px 36px;align-items:flex-start}
.eval>.cm{flex:0 1 auto;min-width:0}
.eval>.pc{flex:1 1 440px;min-width:0}
figure.chart{margin:0;overflow-x:auto}
figure.chart svg{display:block;max-width:100%;height:auto}
figcaption{font-size:12px;color:var(--muted);margin-top:6px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
.tw{overflow-x:auto;max-width:100%}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.03em;border-bottom-color:#cbd5e1;white-space:nowrap}
td.n,th.n{text-align:right;white-space:nowrap}
tr.total td:first-child{white-space:nowrap}
tbody tr:hover{background:#f8fafc}
tr.total td{font-weight:600;border-top:1px solid #cbd5e1}
.scroll{max-height:560px;overflow:auto;border:1px solid var(--line);border-radius:8px}
.scroll table th{position:sticky;top:0;background:#fff}
.bar{display:inline-block;vertical-align:middle;height:8px;border-radius:4px;background:#dbeafe;width:60px;margin-right:8px;overflow:hidden}
.bar>i{display:block;height:100%;background:var(--accent)}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}
.kv dt{color:var(--muted)}
.kv dd{margin:0;word-break:break-word;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.warnings{background:var(--warnbg);border-color:#fcd34d}
.warnings h2{color:var(--warn)}
.warnings ul{margin:6px 0 0;padding-left:20px}
.note{color:var(--muted);font-size:13px}
details{margin-top:10px}
summary{cursor:pointer;color:var(--ink2);font-weight:500}
.losses{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}
.loss{display:flex;gap:10px;border:1px solid var(--line);border-radius:8px;padding:8px;min-width:0;background:#fff}
.thumb{flex:0 0 96px;width:96px;height:96px;display:flex;align-items:center;justify-content:center;background:#f1f5f9;border-radius:6px;overflow:hidden;color:var(--muted);font-size:11px;text-align:center}
.thumb img{max-width:96px;max-height:96px;display:block}
.snippet{flex:1 1 auto;font-size:12.5px;color:var(--ink2);background:#f8fafc;border-radius:6px;padding:6px 8px;max-height:96px;overflow:hidden;white-space:pre-wrap;word-break:break-word}
.loss-text{min-width:0;font-size:12.5px}
.loss-text .lbl{font-weight:600}
.loss-text .wrong{color:#b91c1c}
.loss-text .file{color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;display:block;max-width:100%}
.loss.text{flex-direction:column}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;background:#eff6ff;color:#1d4ed8;font-size:12px;font-weight:500}
footer{color:var(--muted);font-size:12px;padding-bottom:28px}
@media (max-width:600px){.wrap{padding:0 12px}section{padding:14px 12px}h1{font-size:20px}.cards{grid-template-columns:1fr 1fr}.card-value{font-size:18px}}
@media print{body{background:#fff}section{break-inside:avoid;border:none;padding:0}nav{display:none}}
`;
