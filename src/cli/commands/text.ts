/** A plain text table: columns padded to their widest cell, the last column unpadded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

export function shape(s: readonly (number | string | undefined)[] | undefined): string {
  return s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[?]';
}
