/**
 * The deterministic record stream of a pipeline: epochs of (optionally shuffled) shards, read
 * record by record, through the shuffle buffer (training) and numbered with the global example
 * index k. It depends only on the source, the seed and the start position, so replaying it from
 * a saved position gives the same examples in the same order.
 *
 * Seeds (names given to Rng.derive with the pipeline seed):
 *  - `pipeline/shards/<epoch>`  shard order of a training epoch (Fisher-Yates);
 *  - `pipeline/shuffle/<epoch>` draws of that epoch's shuffle buffer.
 * The shuffle buffer is drained at the end of each epoch, so an epoch is a permutation of the
 * source (Model Garden repeats before shuffling, letting the buffer straddle epochs; draining
 * keeps "every example once per epoch" and lets a resume replay only the epoch in progress).
 */
import { Rng } from '../../core/random.js';
import { inOrder, shuffleBuffer, type BufferGauge, type Flagged } from './shuffle_buffer.js';
import type { ExampleSource, SourceRecord } from './types.js';

/** One example of the stream, numbered. */
export interface StreamedExample extends SourceRecord {
  epoch: number;
  /** 0-based position in its epoch's order. */
  position: number;
  /** Global example index k since the start of the run. */
  index: number;
  /** Whether it is the last example of its epoch. */
  lastInEpoch: boolean;
}

export interface RecordStreamOptions {
  source: ExampleSource;
  training: boolean;
  seed: number;
  shuffleBufferSize: number;
  /** Epoch to start in, examples of it to skip (unmapped), and the index k of the first one kept. */
  start: { epoch: number; consumed: number; index: number };
  /** Receives the shuffle buffer's fill level. */
  gauge?: BufferGauge;
}

/** Shard order of one epoch: the source's order for eval, a seeded permutation for training. */
export async function epochShards(
  source: ExampleSource,
  training: boolean,
  seed: number,
  epoch: number,
): Promise<string[]> {
  const shards = [...(await source.shards())];
  if (training) Rng.derive(seed, `pipeline/shards/${epoch}`).shuffle(shards);
  return shards;
}

async function* concatShards(
  source: ExampleSource,
  shards: string[],
): AsyncGenerator<SourceRecord> {
  for (const shard of shards) yield* source.readShard(shard);
}

/** Counts the examples of one pass over the source (reads every shard, maps nothing). */
export async function countExamples(source: ExampleSource): Promise<number> {
  let n = 0;
  for (const shard of await source.shards()) {
    for await (const _record of source.readShard(shard)) n++;
  }
  return n;
}

/**
 * Streams the examples from `start` on: forever when training, else the rest of the single
 * eval pass. Throws when a training source has no examples (it would loop forever) or when the
 * start position lies beyond the end of its epoch.
 */
export async function* recordStream(opts: RecordStreamOptions): AsyncGenerator<StreamedExample> {
  const { source, training, seed, start } = opts;
  let index = start.index;
  for (let epoch = start.epoch; training || epoch < 1; epoch++) {
    const records = concatShards(source, await epochShards(source, training, seed, epoch));
    const ordered: AsyncIterable<Flagged<SourceRecord>> = training
      ? shuffleBuffer(
          records,
          opts.shuffleBufferSize,
          Rng.derive(seed, `pipeline/shuffle/${epoch}`),
          opts.gauge,
        )
      : inOrder(records);
    const skip = epoch === start.epoch ? start.consumed : 0;
    let position = 0;
    for await (const { item, last } of ordered) {
      if (position >= skip) {
        yield { ...item, epoch, position, index, lastInEpoch: last };
        index++;
      }
      position++;
    }
    if (position < skip) {
      throw new RangeError(
        `pipeline state says ${skip} examples of epoch ${epoch} were consumed, but source ` +
          `'${source.name}' has only ${position} examples per epoch`,
      );
    }
    if (training && position === 0) {
      throw new Error(
        `source '${source.name}' has no examples: a training pipeline needs at least one`,
      );
    }
  }
}
