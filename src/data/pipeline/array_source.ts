/** An {@link ExampleSource} over byte strings held in memory, split into shards of equal size. */
import type { ExampleSource, SourceRecord } from './types.js';

const SHARD_PREFIX = 'shard-';

/**
 * Serves `examples` in shards of `shardSize` consecutive examples (default: one shard holding
 * all). Example i is in shard `shard-<floor(i / shardSize)>`; its locator is
 * `${name}[i] (shard s, example j)`. The arrays are not copied; the pipeline copies them when it
 * sends them to a worker (`transferableBytes` is false), so the same arrays serve every epoch.
 */
export function arraySource(
  name: string,
  examples: readonly Uint8Array[],
  shardSize: number = Math.max(1, examples.length),
): ExampleSource {
  if (!Number.isInteger(shardSize) || shardSize < 1) {
    throw new RangeError(
      `arraySource '${name}': shardSize must be a positive integer, got ${shardSize}`,
    );
  }
  examples.forEach((e, i) => {
    if (!(e instanceof Uint8Array)) {
      throw new TypeError(`arraySource '${name}': example ${i} is not a Uint8Array`);
    }
  });
  const numShards = Math.ceil(examples.length / shardSize);
  const shardNames = Array.from({ length: numShards }, (_, s) => `${SHARD_PREFIX}${s}`);
  return {
    name,
    transferableBytes: false,
    shards: async () => [...shardNames],
    readShard(shard: string): AsyncIterable<SourceRecord> {
      const s = shardNames.indexOf(shard);
      if (s < 0) {
        throw new RangeError(
          `arraySource '${name}': unknown shard '${shard}' (it has ${numShards} shards)`,
        );
      }
      const start = s * shardSize;
      const end = Math.min(examples.length, start + shardSize);
      return (async function* () {
        for (let i = start; i < end; i++) {
          yield { bytes: examples[i], where: `${name}[${i}] (shard ${s}, example ${i - start})` };
        }
      })();
    },
  };
}
