/**
 * Random horizontal flip of an image with its normalised boxes and instance masks
 * (preprocess_ops.random_horizontal_flip): one coin `u < prob` decides for all three.
 */
import type { Rng } from '../../core/random.js';
import { horizontalFlipBoxes, type Boxes } from '../../ops/box_ops.js';
import {
  flipLeftRight,
  flipMasksLeftRight,
  type Image,
  type InstanceMasks,
  type PixelArray,
} from './image.js';

export interface FlipResult<T extends PixelArray, M extends PixelArray> {
  image: Image<T>;
  /** Normalised [ymin, xmin, ymax, xmax] boxes, flipped when `flipped`. */
  boxes?: Boxes;
  masks?: InstanceMasks<M>;
  flipped: boolean;
}

/**
 * The coin of {@link randomHorizontalFlip}: one `rng.uniform()`, true (flip) when below `prob`.
 * Exposed so fused paths that flip inside another op draw exactly the same number.
 */
export function horizontalFlipCoin(rng: Rng, prob = 0.5): boolean {
  if (!(prob >= 0 && prob <= 1)) {
    throw new RangeError(`randomHorizontalFlip: prob must be in [0, 1], got ${prob}`);
  }
  return rng.uniform() < prob;
}

/**
 * Mirrors `image`, `boxes` (normalised, [N, 4]) and `masks` ([N, H, W]) left-right with
 * probability `prob` (default 0.5, Model Garden's). Draws one `rng.uniform()`.
 */
export function randomHorizontalFlip<T extends PixelArray, M extends PixelArray = PixelArray>(
  rng: Rng,
  image: Image<T>,
  boxes?: ArrayLike<number>,
  masks?: InstanceMasks<M>,
  prob = 0.5,
): FlipResult<T, M> {
  if (!(prob >= 0 && prob <= 1)) {
    throw new RangeError(`randomHorizontalFlip: prob must be in [0, 1], got ${prob}`);
  }
  if (masks && boxes && masks.count * 4 !== boxes.length) {
    throw new RangeError(
      `randomHorizontalFlip: ${masks.count} masks for ${boxes.length / 4} boxes`,
    );
  }
  const flipped = horizontalFlipCoin(rng, prob);
  if (!flipped) {
    return { image, boxes: boxes && Float32Array.from(boxes), masks, flipped };
  }
  return {
    image: flipLeftRight(image),
    boxes: boxes && horizontalFlipBoxes(boxes),
    masks: masks && flipMasksLeftRight(masks),
    flipped,
  };
}
