/**
 * The trainer's input interface and an in-memory image classification pipeline.
 *
 * {@link InputPipeline} is what the trainer pulls batches from; any source (in-memory arrays,
 * TFRecord shards) implements it, including a JSON-serialisable position so a resumed run sees
 * exactly the batches an uninterrupted run would.
 *
 * {@link InMemoryImageClassification} serves uint8 images held in memory: per-example
 * augmentation runs in JS on the uint8 data, then each batch becomes one float32 tensor.
 * Training mode (the default: shuffle + repeat) reshuffles every epoch and, like tf.data's
 * `repeat().batch()` in Model Garden's input reader, fills batches across epoch boundaries.
 * Eval mode reads the examples once, in order, keeping the last partial batch unless
 * `dropRemainder` is set.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, type RngState } from '../core/random.js';
import type { InputPipeline } from '../core/task.js';

/** A JSON value (what a pipeline state may hold). */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Saved state of an {@link Rng}. */
export type SavedRng = {
  s: RngState;
  spare: number | null;
};

/**
 * Resumable position of an input pipeline; JSON-serialisable, stored in checkpoints. (A type
 * alias rather than an interface so it is assignable to `Record<string, unknown>`.)
 */
export type InMemoryPipelineState = {
  /** Which pipeline wrote the state, so a state from another kind is rejected. */
  kind: string;
  /** Index of the epoch in progress (0-based). */
  epoch: number;
  /** Examples of the current epoch's order already consumed. */
  index: number;
  /** Random streams by name. */
  rng: Record<string, SavedRng>;
  /** Pipeline-specific extras (e.g. shard and record offset). */
  extra?: Record<string, JsonValue>;
};

/** A classification batch; the caller owns (and disposes) both tensors. */
export type ImageClassificationBatch = {
  /** [B, H, W, C] float32, normalised. */
  image: tf.Tensor4D;
  /** [B] int32 class indices. */
  label: tf.Tensor1D;
};

/** ImageNet RGB mean and stddev on the 0..255 scale (official/vision/ops/preprocess_ops.py). */
export const MEAN_RGB: readonly number[] = [0.485 * 255, 0.456 * 255, 0.406 * 255];
export const STDDEV_RGB: readonly number[] = [0.229 * 255, 0.224 * 255, 0.225 * 255];

export interface AugmentOptions {
  /** Mirror left-right with probability 1/2. */
  randomFlip?: boolean;
  /**
   * Zero-pad this many pixels on every side, then crop a random window of the original size
   * (the CIFAR ResNet recipe). 0 = off.
   */
  randomCropPadding?: number;
}

export interface InMemoryImageClassificationOptions {
  /** Row-major [N, H, W, C] uint8 pixels. */
  images: Uint8Array;
  shape: [number, number, number, number];
  /** [N] integer class indices. */
  labels: ArrayLike<number>;
  batchSize: number;
  /** Training mode: augmentation on; default for `shuffle` and `repeat`. Default true. */
  isTraining?: boolean;
  /** Seed of the shuffle order and augmentation. Default 0. */
  seed?: number;
  /** Default: `isTraining`. */
  shuffle?: boolean;
  /** Repeat forever. Default: `isTraining`. */
  repeat?: boolean;
  /** Drop the last partial batch of a non-repeating pipeline. Default false. */
  dropRemainder?: boolean;
  /** Applied in training mode only. */
  augment?: AugmentOptions;
  /**
   * Per-channel mean subtracted from the 0..255 values (one value, or one per output channel).
   * Default {@link MEAN_RGB} for 3 output channels; required otherwise.
   */
  mean?: readonly number[];
  /** Per-channel divisor, as `mean`. Default {@link STDDEV_RGB} for 3 output channels. */
  stddev?: readonly number[];
  /** Output channels: 3 replicates 1-channel (grayscale) images. Default: the input's C. */
  outputChannels?: number;
}

const STATE_KIND = 'in_memory_image_classification';

/** Resolves a mean/stddev option to one value per output channel. */
function perChannel(
  field: 'mean' | 'stddev',
  value: readonly number[] | undefined,
  channels: number,
): Float64Array {
  const fallback = field === 'mean' ? MEAN_RGB : STDDEV_RGB;
  const v = value ?? (channels === 3 ? fallback : undefined);
  if (!v) {
    throw new Error(
      `${field} is required for ${channels}-channel images (the default MEAN_RGB/STDDEV_RGB ` +
        `are for RGB); pass ${field}: [value] or ${channels} values`,
    );
  }
  if (v.length !== 1 && v.length !== channels) {
    throw new Error(
      `${field} must have 1 or ${channels} values (one per output channel), got ${v.length}`,
    );
  }
  if (v.some((x) => !Number.isFinite(x)) || (field === 'stddev' && v.some((x) => x === 0))) {
    throw new Error(
      `${field} values must be finite${field === 'stddev' ? ' and non-zero' : ''}: [${v.join(', ')}]`,
    );
  }
  return Float64Array.from({ length: channels }, (_, c) => v[v.length === 1 ? 0 : c]);
}

function checkPositiveInt(field: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) {
    throw new Error(`${field} must be a positive integer, got ${v}`);
  }
}

/** In-memory image classification pipeline; see the module comment for its semantics. */
export class InMemoryImageClassification implements InputPipeline<
  ImageClassificationBatch,
  InMemoryPipelineState
> {
  readonly cardinality: number;
  readonly batchSize: number;
  readonly isTraining: boolean;
  readonly shuffle: boolean;
  readonly repeat: boolean;
  readonly dropRemainder: boolean;
  /** Output image shape per example: [H, W, outputChannels]. */
  readonly exampleShape: [number, number, number];

  private readonly images: Uint8Array;
  private readonly labels: Int32Array;
  private readonly inChannels: number;
  private readonly seed: number;
  private readonly flip: boolean;
  private readonly cropPadding: number;
  private readonly mean: Float64Array;
  private readonly stddev: Float64Array;

  private epoch = 0;
  private index = 0;
  private order: Int32Array;
  private readonly augmentRng: Rng;
  private disposed = false;

  constructor(opts: InMemoryImageClassificationOptions) {
    if (opts.shape.length !== 4) {
      throw new Error(`shape must be [N, H, W, C], got [${opts.shape.join(', ')}]`);
    }
    const [n, h, w, c] = opts.shape;
    for (const [field, v] of [
      ['shape[0] (N)', n],
      ['shape[1] (H)', h],
      ['shape[2] (W)', w],
      ['shape[3] (C)', c],
    ] as const) {
      checkPositiveInt(field, v);
    }
    if (opts.images.length !== n * h * w * c) {
      throw new Error(
        `images has ${opts.images.length} values, shape [${opts.shape.join(', ')}] needs ${n * h * w * c}`,
      );
    }
    if (opts.labels.length !== n) {
      throw new Error(`labels has ${opts.labels.length} entries, images has ${n}`);
    }
    checkPositiveInt('batchSize', opts.batchSize);
    const outC = opts.outputChannels ?? c;
    if (outC !== c && !(c === 1 && outC > 1)) {
      throw new Error(
        `outputChannels ${outC} is not possible for ${c}-channel images ` +
          `(only 1-channel images can be replicated)`,
      );
    }
    const padding = opts.augment?.randomCropPadding ?? 0;
    if (!Number.isInteger(padding) || padding < 0) {
      throw new Error(`augment.randomCropPadding must be a non-negative integer, got ${padding}`);
    }

    this.images = opts.images;
    this.labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const l = opts.labels[i];
      if (!Number.isInteger(l) || l < 0) {
        throw new Error(`labels[${i}] must be a non-negative integer, got ${l}`);
      }
      this.labels[i] = l;
    }
    this.cardinality = n;
    this.inChannels = c;
    this.exampleShape = [h, w, outC];
    this.batchSize = opts.batchSize;
    this.isTraining = opts.isTraining ?? true;
    this.shuffle = opts.shuffle ?? this.isTraining;
    this.repeat = opts.repeat ?? this.isTraining;
    this.dropRemainder = opts.dropRemainder ?? false;
    this.seed = (opts.seed ?? 0) >>> 0;
    this.flip = this.isTraining && (opts.augment?.randomFlip ?? false);
    this.cropPadding = this.isTraining ? padding : 0;
    this.mean = perChannel('mean', opts.mean, outC);
    this.stddev = perChannel('stddev', opts.stddev, outC);
    this.augmentRng = Rng.derive(this.seed, 'in_memory/augment');
    this.order = this.epochOrder(0);
  }

  /** Batches per epoch of a non-repeating pipeline (for repeating ones: examples / batch size). */
  get batchesPerEpoch(): number {
    const n = this.cardinality / this.batchSize;
    return this.repeat || this.dropRemainder ? Math.floor(n) : Math.ceil(n);
  }

  /** The example order of an epoch: identity, or a permutation drawn from a per-epoch stream. */
  private epochOrder(epoch: number): Int32Array {
    const order = new Int32Array(this.cardinality);
    for (let i = 0; i < order.length; i++) order[i] = i;
    if (this.shuffle) Rng.derive(this.seed, `in_memory/shuffle/epoch_${epoch}`).shuffle(order);
    return order;
  }

  /** Indices of the next batch's examples, advancing the position; null when exhausted. */
  private takeIndices(): number[] | null {
    const picked: number[] = [];
    while (picked.length < this.batchSize) {
      if (this.index === this.cardinality) {
        if (!this.repeat) break;
        this.epoch++;
        this.index = 0;
        this.order = this.epochOrder(this.epoch);
      }
      picked.push(this.order[this.index++]);
    }
    if (picked.length === 0) return null;
    if (picked.length < this.batchSize && this.dropRemainder) return null;
    return picked;
  }

  async next(): Promise<ImageClassificationBatch | null> {
    if (this.disposed) throw new Error('InMemoryImageClassification: next() after dispose()');
    const picked = this.takeIndices();
    if (picked === null) return null;
    const [h, w, outC] = this.exampleShape;
    const perExample = h * w * outC;
    const pixels = new Float32Array(picked.length * perExample);
    const labels = new Int32Array(picked.length);
    for (let b = 0; b < picked.length; b++) {
      this.writeExample(picked[b], pixels, b * perExample);
      labels[b] = this.labels[picked[b]];
    }
    return {
      image: tf.tensor4d(pixels, [picked.length, h, w, outC], 'float32'),
      label: tf.tensor1d(labels, 'int32'),
    };
  }

  /**
   * Writes example `i`, augmented and normalised, into `out` at `offset` as [H, W, outC].
   * Random draws per example, in order: crop offsets (y, x) when padding > 0, then the flip coin.
   */
  private writeExample(i: number, out: Float32Array, offset: number): void {
    const [h, w, outC] = this.exampleShape;
    const c = this.inChannels;
    const p = this.cropPadding;
    // Window origin in padded coordinates is (oy, ox) in [0, 2p]; source row = y + oy - p.
    const shiftY = p > 0 ? this.augmentRng.int(2 * p + 1) - p : 0;
    const shiftX = p > 0 ? this.augmentRng.int(2 * p + 1) - p : 0;
    const flipped = this.flip && this.augmentRng.uniform() < 0.5;
    const base = i * h * w * c;
    for (let y = 0; y < h; y++) {
      const sy = y + shiftY;
      for (let x = 0; x < w; x++) {
        const dst = offset + (y * w + x) * outC;
        const sx = (flipped ? w - 1 - x : x) + shiftX;
        const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        const src = base + (sy * w + sx) * c;
        for (let k = 0; k < outC; k++) {
          const v = inside ? this.images[src + (c === 1 ? 0 : k)] : 0;
          out[dst + k] = (v - this.mean[k]) / this.stddev[k];
        }
      }
    }
  }

  getState(): InMemoryPipelineState {
    return {
      kind: STATE_KIND,
      epoch: this.epoch,
      index: this.index,
      rng: { augment: this.augmentRng.getState() },
      extra: { seed: this.seed, cardinality: this.cardinality, shuffle: this.shuffle },
    };
  }

  setState(state: InMemoryPipelineState): void {
    if (state.kind !== STATE_KIND) {
      throw new Error(`pipeline state kind '${state.kind}' does not match '${STATE_KIND}'`);
    }
    if (!Number.isInteger(state.epoch) || state.epoch < 0) {
      throw new Error(`pipeline state epoch must be a non-negative integer, got ${state.epoch}`);
    }
    if (!Number.isInteger(state.index) || state.index < 0 || state.index > this.cardinality) {
      throw new Error(
        `pipeline state index must be an integer in 0..${this.cardinality}, got ${state.index}`,
      );
    }
    const extra = state.extra ?? {};
    for (const [field, mine] of [
      ['seed', this.seed],
      ['cardinality', this.cardinality],
      ['shuffle', this.shuffle],
    ] as const) {
      if (field in extra && extra[field] !== mine) {
        throw new Error(
          `pipeline state was saved with ${field}=${String(extra[field])}, this pipeline has ${String(mine)}`,
        );
      }
    }
    const saved = state.rng.augment;
    if (!saved || !Array.isArray(saved.s) || saved.s.length !== 4) {
      throw new Error(`pipeline state has no valid 'augment' random stream`);
    }
    this.epoch = state.epoch;
    this.index = state.index;
    this.order = this.epochOrder(this.epoch);
    this.augmentRng.setState({ s: [...saved.s] as RngState, spare: saved.spare });
  }

  /** Releases nothing on tensors (batches belong to the caller); further `next()` calls throw. */
  dispose(): void {
    this.disposed = true;
  }
}
