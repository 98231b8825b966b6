/**
 * Edit distance where swapping two neighbouring characters is one edit (optimal string alignment), so
 * the usual typos ('trian', 'stratgy') are one edit from what was meant.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** How many edits still count as a typo of a name this long. */
function typoBudget(length: number): number {
  return length <= 3 ? 1 : Math.max(2, Math.floor(length / 3));
}

/**
 * The names a "did you mean" hint should offer for `wanted`, best first, at most `limit`: the same name in
 * another case; names that start with it (a zoo architecture without its tag: efficientnet_b0 ->
 * efficientnet_b0.imagenet; an abbreviated flag: strat -> strategy) or that it starts with; then names
 * within a typo's distance. Case is ignored throughout. Empty when nothing is close.
 */
export function closestNames(wanted: string, names: readonly string[], limit = 3): string[] {
  const w = wanted.toLowerCase();
  if (!w) return [];
  const ranked: { name: string; rank: number; distance: number; order: number }[] = [];
  [...new Set(names)].forEach((name, order) => {
    const n = name.toLowerCase();
    const distance = editDistance(w, n);
    let rank: number;
    if (n === w) rank = 0;
    else if ((w.length >= 3 && n.startsWith(w)) || (n.length >= 4 && w.startsWith(n))) rank = 1;
    else if (distance <= typoBudget(w.length)) rank = 2;
    else return;
    ranked.push({ name, rank, distance, order });
  });
  return ranked
    .sort((a, b) => a.rank - b.rank || a.distance - b.distance || a.order - b.order)
    .slice(0, limit)
    .map((r) => r.name);
}

/** "did you mean 'a'?" or "did you mean 'a' or 'b'?"; empty when there is nothing to offer. */
export function didYouMean(suggestions: readonly string[], quote = "'"): string {
  if (suggestions.length === 0) return '';
  const q = suggestions.map((s) => `${quote}${s}${quote}`);
  const list = q.length === 1 ? q[0] : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
  return `did you mean ${list}?`;
}
