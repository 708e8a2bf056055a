/**
 * Streaming classification metrics: top-k accuracy (Keras `sparse_top_k_categorical_accuracy`,
 * names as Model Garden logs them: `accuracy`, `top_5_accuracy`).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Counts examples whose label is among the k highest logits (ties: the lower class index wins, as tf.math.top_k). */
export class TopKAccuracy {
  readonly name: string;
  private correct = 0;
  private count = 0;

  constructor(
    readonly k: number,
    name?: string,
  ) {
    if (!(k >= 1)) throw new Error(`TopKAccuracy: k must be >= 1, got ${k}`);
    this.name = name ?? (k === 1 ? 'accuracy' : `top_${k}_accuracy`);
  }

  /**
   * `logits` [B, K]; `labels` [B] integer classes, or [B, K] one-hot / soft labels (argmax is
   * the class, as Keras top_k_categorical_accuracy).
   */
  async updateFrom(logits: tf.Tensor, labels: tf.Tensor): Promise<void> {
    const [b, numClasses] = logits.shape;
    const k = Math.min(this.k, numClasses);
    const { values, labelIds } = tf.tidy(() => {
      const ids = labels.rank === 2 ? tf.argMax(labels, -1) : tf.cast(labels, 'int32');
      return { values: tf.topk(logits, k).indices, labelIds: ids };
    });
    const [top, lab] = await Promise.all([values.data(), labelIds.data()]);
    tf.dispose([values, labelIds]);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < k; j++) {
        if (top[i * k + j] === lab[i]) {
          this.correct++;
          break;
        }
      }
    }
    this.count += b;
  }

  result(): Record<string, number> {
    return { [this.name]: this.count === 0 ? 0 : this.correct / this.count };
  }

  reset(): void {
    this.correct = 0;
    this.count = 0;
  }
}
