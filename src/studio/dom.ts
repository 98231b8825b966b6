// The few DOM helpers the studio's page is written with. Text goes in through textContent only: class names,
// file names and messages come from the user's files, and no string of theirs is ever parsed as HTML.

type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, ...children);
  return e;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** A table with its caption and column headers, and the body its rows go into. */
export function headedTable(
  id: string,
  caption: string,
  headers: readonly string[],
): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = el('tbody');
  const table = el(
    'table',
    { id },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))),
    body,
  );
  return { table, body };
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

/**
 * An SVG chart rendered by Vega (report/charts.ts, which escapes every text it writes) as a node: parsed as
 * XML, never as HTML, and only <svg> content is kept (a script element would not run from an imported
 * document, and none is written; they are removed anyway, with event attributes).
 */
export function svgNode(svg: string): Node {
  // renderChart drops the namespace (HTML puts <svg> in it anyway); as XML it must be given back, or nothing draws
  const xml = svg.replace(
    /^<svg /,
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ',
  );
  const doc = new DOMParser().parseFromString(xml, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.nodeName !== 'svg') return document.createTextNode('(the chart could not be drawn)');
  for (const s of Array.from(root.querySelectorAll('script, foreignObject'))) s.remove();
  for (const n of Array.from(root.querySelectorAll('*'))) {
    for (const a of Array.from(n.attributes)) if (/^on/i.test(a.name)) n.removeAttribute(a.name);
  }
  return document.importNode(root, true);
}

export function percent(x: number | undefined, digits = 1): string {
  return x === undefined ? '—' : `${(x * 100).toFixed(digits)}%`;
}

export function seconds(s: number): string {
  if (!Number.isFinite(s)) return '…';
  if (s < 60) return `${Math.max(0, Math.round(s))} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
