import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Matches the page's CSS font stack, so the SVG text looks like the rest of the page. */
export const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif';

/** Categorical colours, chosen to stay distinguishable on white and in greyscale print. */
export const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#db2777', '#0891b2', '#ca8a04', '#475569'];

const THEME = {
  font: FONT,
  background: '#ffffff',
  padding: 4,
  view: { stroke: null },
  axis: {
    labelColor: '#475569',
    titleColor: '#334155',
    titleFontWeight: 600,
    labelFontSize: 11,
    titleFontSize: 12,
    gridColor: '#eef2f7',
    domainColor: '#cbd5e1',
    tickColor: '#cbd5e1',
    labelLimit: 140,
  },
  legend: { labelColor: '#334155', titleColor: '#334155', labelFontSize: 12, titleFontSize: 12, symbolStrokeWidth: 2 },
  header: { labelColor: '#334155', titleColor: '#334155', labelFontSize: 12, labelFontWeight: 600 },
  title: { color: '#1e293b', fontSize: 13, fontWeight: 600, anchor: 'start', offset: 8 },
  range: { category: PALETTE },
  line: { strokeWidth: 2 },
  point: { size: 36, filled: true },
} as const;

/**
 * Compiles a Vega-Lite spec and renders it to an SVG string with no DOM and no canvas (Vega's headless
 * 'none' renderer). The result is meant to be inlined in HTML: the namespace attributes are dropped
 * (HTML parsers put <svg> in the SVG namespace anyway, and the page then holds no URL at all), and
 * element ids are prefixed with `id` (unique in the page): two inlined charts must never share a clip
 * path id, or one would clip the other's marks.
 */
export async function renderChart(spec: TopLevelSpec, id: string, label: string): Promise<string> {
  const themed = { ...spec, config: { ...THEME, ...(spec.config ?? {}) } } as TopLevelSpec;
  const vg = compile(themed).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  // renumbered in order of appearance: Vega's own numbers come from a process-wide counter, so they
  // would make the same report render differently each time
  const ids = new Map<string, string>();
  const local = (name: string): string => {
    let v = ids.get(name);
    if (v === undefined) ids.set(name, (v = `${id}-${ids.size + 1}`));
    return v;
  };
  svg = svg
    .replace(/ xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/ id="([^"]+)"/g, (_, name: string) => ` id="${local(name)}"`)
    .replace(/url\(#([^)]+)\)/g, (_, name: string) => `url(#${local(name)})`)
    .replace(/^<svg /, `<svg role="img" aria-label="${escapeAttr(label)}" `);
  return svg;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
