/**
 * Multi-view video evaluation (Model Garden video_classification task `inference_step`):
 * softmax per view, then the mean over the `numViews = num_test_clips * num_test_crops` views of
 * each video (30 views for the 10-clip x 3-crop protocol). Views of one video are consecutive
 * rows of the logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TopKAccuracy } from './classification.js';

/** `[N * numViews, C]` logits → `[N, C]` mean softmax probabilities. */
export function aggregateMultiView(logits: tf.Tensor2D, numViews: number): tf.Tensor2D {
  const [rows, C] = logits.shape;
  if (!Number.isInteger(numViews) || numViews < 1) {
    throw new Error(`aggregateMultiView: numViews must be a positive integer, got ${numViews}`);
  }
  if (rows % numViews !== 0) {
    throw new Error(
      `aggregateMultiView: ${rows} rows are not a multiple of numViews = ${numViews}`,
    );
  }
  return tf.tidy(() => tf.mean(tf.reshape(tf.softmax(logits), [rows / numViews, numViews, C]), 1));
}

/** Top-1 / top-5 accuracy of multi-view predictions (`top_1_accuracy`, `top_5_accuracy`). */
export class MultiViewAccuracy {
  private readonly metrics: TopKAccuracy[];

  constructor(
    readonly numViews: number,
    ks: readonly number[] = [1, 5],
  ) {
    this.metrics = ks.map((k) => new TopKAccuracy(k, `top_${k}_accuracy`));
  }

  /** `logits` `[N * numViews, C]`; `labels` `[N]` class ids (one per video). */
  async update(logits: tf.Tensor2D, labels: tf.Tensor): Promise<void> {
    const probs = aggregateMultiView(logits, this.numViews);
    if (labels.shape[0] !== probs.shape[0]) {
      probs.dispose();
      throw new Error(
        `MultiViewAccuracy: ${labels.shape[0]} labels for ${probs.shape[0]} videos (${logits.shape[0]} views / ${this.numViews})`,
      );
    }
    try {
      for (const m of this.metrics) await m.updateFrom(probs, labels);
    } finally {
      probs.dispose();
    }
  }

  result(): Record<string, number> {
    return Object.assign({}, ...this.metrics.map((m) => m.result()));
  }

  reset(): void {
    for (const m of this.metrics) m.reset();
  }
}
