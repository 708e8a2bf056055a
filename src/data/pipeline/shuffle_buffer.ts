/**
 * Order stages of the record stream: the seeded shuffle buffer used in training and the
 * in-order pass-through used in evaluation. Both flag the last element, so the pipeline knows
 * when an epoch ends without reading ahead of what it reports.
 */
import type { Rng } from '../../core/random.js';

/** An element and whether it is the last one of its stream. */
export interface Flagged<T> {
  item: T;
  last: boolean;
}

/** Live fill level of a shuffle buffer (read by the pipeline's stats). */
export interface BufferGauge {
  size: number;
}

/**
 * tf.data `shuffle(buffer_size)` semantics, as Model Garden's input reader uses it
 * (official/core/input_reader.py): fill a buffer of `capacity` elements, then repeatedly emit a
 * uniformly chosen element and refill its place with the next input; once the input ends, the
 * remaining elements are drained in random order. capacity 1 keeps the input order.
 */
export async function* shuffleBuffer<T>(
  input: AsyncIterable<T>,
  capacity: number,
  rng: Rng,
  gauge: BufferGauge = { size: 0 },
): AsyncGenerator<Flagged<T>> {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`shuffle buffer size must be a positive integer, got ${capacity}`);
  }
  const it = input[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let ended = false;
  const topUp = async (): Promise<void> => {
    while (!ended && buffer.length < capacity) {
      const next = await it.next();
      if (next.done) ended = true;
      else buffer.push(next.value);
    }
    gauge.size = buffer.length;
  };
  try {
    await topUp();
    while (buffer.length > 0) {
      const j = rng.int(buffer.length);
      const item = buffer[j];
      buffer[j] = buffer[buffer.length - 1];
      buffer.pop();
      // Refill before yielding, so `last` is known; the draw sequence is the same as refilling
      // right before the next draw. If the input fails, the drawn element still goes out first.
      try {
        await topUp();
      } catch (err) {
        yield { item, last: false };
        throw err;
      }
      yield { item, last: buffer.length === 0 };
    }
  } finally {
    gauge.size = 0;
    if (!ended) await it.return?.();
  }
}

/**
 * The input in order, each element flagged with whether it is the last (reads one element
 * ahead; when that read fails, the current element is yielded before the error).
 */
export async function* inOrder<T>(input: AsyncIterable<T>): AsyncGenerator<Flagged<T>> {
  const it = input[Symbol.asyncIterator]();
  let ended = false;
  try {
    let current = await it.next();
    while (!current.done) {
      let next: IteratorResult<T>;
      try {
        next = await it.next();
      } catch (err) {
        yield { item: current.value, last: false }; // what was read before the failure goes out
        throw err;
      }
      if (next.done) ended = true;
      yield { item: current.value, last: next.done === true };
      current = next;
    }
    ended = true;
  } finally {
    if (!ended) await it.return?.();
  }
}
