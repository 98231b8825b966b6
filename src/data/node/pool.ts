/**
 * Runs `fn` over `items` with at most `limit` calls in flight and yields results in input order. Used for
 * decoding: libvips decodes on its own threads, so a few images in flight keep every core busy while the
 * main thread assembles batches, and a bounded window keeps memory flat. A rejected call is yielded as
 * `{ error }` in its place, so one bad file never stops the stream.
 */
export async function* orderedMap<T, R>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): AsyncGenerator<{ item: T; value: R } | { item: T; error: unknown }> {
  const it = items[Symbol.iterator]();
  const window: { item: T; p: Promise<{ value: R } | { error: unknown }> }[] = [];
  let index = 0;
  let done = false;
  const fill = () => {
    while (!done && window.length < Math.max(1, limit)) {
      const next = it.next();
      if (next.done) {
        done = true;
        break;
      }
      const item = next.value;
      const i = index++;
      const p = Promise.resolve()
        .then(() => fn(item, i))
        .then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
      window.push({ item, p });
    }
  };
  fill();
  while (window.length) {
    const head = window.shift()!;
    const r = await head.p;
    fill();
    yield 'error' in r ? { item: head.item, error: r.error } : { item: head.item, value: r.value };
  }
}

/** All results, in order, with at most `limit` calls in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}
