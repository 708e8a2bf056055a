/** Shared pieces of the dataset converters. */

/** What a converter wrote. */
export interface ConversionSummary {
  files: string[];
  numExamples: number;
  /** Annotations skipped for an empty box or one past the image border. */
  numAnnotationsSkipped: number;
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight and hands the results to
 * `sink` in input order.
 */
export async function orderedMap<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  sink: (result: R, index: number) => Promise<void>,
): Promise<void> {
  const width = Math.max(1, Math.floor(concurrency));
  const pending = new Map<number, Promise<R>>();
  let next = 0;
  const launch = () => {
    while (next < items.length && pending.size < width) {
      const i = next++;
      const p = fn(items[i], i);
      p.catch(() => {}); // awaited below, in order
      pending.set(i, p);
    }
  };
  launch();
  for (let i = 0; i < items.length; i++) {
    const result = await pending.get(i)!;
    pending.delete(i);
    await sink(result, i);
    launch();
  }
}
