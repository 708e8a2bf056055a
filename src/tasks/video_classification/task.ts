/**
 * Video classification task (Model Garden `tasks/video_classification.py`) for MoViNet models:
 * the model from `task.model` with `train_data.num_classes` classes, softmax cross-entropy with
 * label smoothing plus l2 weight decay, top-1 / top-5 accuracy, inference logits, and the
 * streaming outputs of causal models (`streamOutputs`, used by `forward --stream`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CallArgs } from '../../core/layer.js';
import type { ForwardResult, InputPipeline, Losses, Metric, Task } from '../../core/task.js';
import { TopKAccuracy } from '../../evaluation/classification.js';
import { softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from '../../losses/classification.js';
import { l2Regularization } from '../../losses/l2.js';
import type { States } from '../../modeling/layers/stream_layers.js';
import { buildMovinetModel, type MovinetClassifier } from '../../modeling/models/movinet_model.js';
import type { VideoClassificationTaskConfig } from './config.js';

export type VideoBatch = { image: tf.Tensor; label: tf.Tensor };
export type VideoOutputs = { logits: tf.Tensor };

class AccuracyMetric implements Metric<VideoOutputs, VideoBatch> {
  readonly name: string;
  constructor(private readonly acc: TopKAccuracy) {
    this.name = acc.name;
  }
  update(outputs: VideoOutputs, batch: VideoBatch): Promise<void> {
    return this.acc.updateFrom(outputs.logits, batch.label);
  }
  result(): Record<string, number> {
    return this.acc.result();
  }
  reset(): void {
    this.acc.reset();
  }
}

export class VideoClassificationTask implements Task<MovinetClassifier, VideoBatch, VideoOutputs> {
  readonly type = 'video_classification';
  readonly defaultEvalMetric = 'accuracy';

  constructor(readonly config: VideoClassificationTaskConfig) {}

  get numClasses(): number {
    const n = this.config.train_data.num_classes;
    if (!(n > 0)) {
      throw new Error(`task.train_data.num_classes must be set (> 0), got ${n}`);
    }
    return n;
  }

  buildModel(): MovinetClassifier {
    return buildMovinetModel(this.config.model, this.numClasses);
  }

  /** Zero clips of one frame at train_data.feature_shape's size (weights do not depend on T). */
  dummyBatch(batchSize: number): VideoBatch {
    const [, h, w, c] = this.config.train_data.feature_shape;
    return {
      image: tf.zeros([batchSize, 1, h ?? 1, w ?? 1, c ?? 3]),
      label: tf.zeros([batchSize, this.numClasses]),
    };
  }

  buildInputs(): Promise<InputPipeline<VideoBatch>> {
    return Promise.reject(
      new Error(
        "video_classification: the video input pipeline (Model Garden's video_input.py) is not implemented yet; this task builds models and runs forward / streaming inference only",
      ),
    );
  }

  forward(
    model: MovinetClassifier,
    batch: VideoBatch,
    args: CallArgs,
  ): ForwardResult<VideoOutputs> {
    const { logits } = model.apply({ image: batch.image }, args);
    const lc = this.config.losses;
    const perExample =
      lc.one_hot || batch.label.rank === 2
        ? softmaxCrossEntropy(
            logits,
            batch.label.rank === 2
              ? batch.label
              : tf.oneHot(tf.cast(batch.label, 'int32'), this.numClasses),
            lc.label_smoothing,
          )
        : sparseSoftmaxCrossEntropy(logits, batch.label, lc.label_smoothing);
    const classification = tf.mean(perExample) as tf.Scalar;
    const l2 = l2Regularization(
      model
        .trainableWeights()
        .filter((w) => w.regularize)
        .map((w) => w.variable),
      lc.l2_weight_decay,
    );
    const losses: Losses = {
      total_loss: tf.add(classification, l2) as tf.Scalar,
      classification_loss: classification,
      l2_regularization_loss: l2,
    };
    return { losses, outputs: { logits } };
  }

  buildMetrics(): Metric<VideoOutputs, VideoBatch>[] {
    return [new AccuracyMetric(new TopKAccuracy(1)), new AccuracyMetric(new TopKAccuracy(5))];
  }

  inferenceOutputs(
    model: MovinetClassifier,
    images: tf.Tensor,
    extras: Record<string, tf.Tensor>,
  ): Record<string, tf.Tensor> {
    const unused = Object.keys(extras);
    if (unused.length) throw new Error(`a video model takes clips only, not ${unused.join(', ')}`);
    const out = model.apply({ image: images }, { training: false });
    if (!model.outputStates) return { logits: out.logits };
    const named: Record<string, tf.Tensor> = { logits: out.logits };
    for (const [k, v] of Object.entries(out.states)) named[`states/${k}`] = v;
    return named;
  }

  /**
   * A causal model with external states on `video` [B, T, H, W, 3]: the whole clip from zero
   * states (`clip/logits`, `clip/states/<name>`) and the clip fed one frame per call, each call
   * given the previous call's states (`frames/logits_t<i>`, `frames/final_states/<name>`).
   */
  streamOutputs(model: MovinetClassifier, video: tf.Tensor): Record<string, tf.Tensor> {
    if (!model.useExternalStates) {
      throw new Error(
        '--stream: the model must take stream states (task.model.backbone.movinet.use_external_states: true, causal: true)',
      );
    }
    if (video.rank !== 5) {
      throw new Error(
        `--stream: expected a video [batch, frames, height, width, 3], got [${video.shape}]`,
      );
    }
    const out: Record<string, tf.Tensor> = {};
    const init = model.initStates(video.shape);
    const whole = model.apply({ image: video, states: init }, { training: false });
    out['clip/logits'] = whole.logits;
    for (const [k, v] of Object.entries(whole.states)) out[`clip/states/${k}`] = v;
    let states: States = init;
    for (let t = 0; t < (video.shape[1] ?? 0); t++) {
      const frame = tf.slice(video, [0, t, 0, 0, 0], [-1, 1, -1, -1, -1]);
      const step = model.apply({ image: frame, states }, { training: false });
      out[`frames/logits_t${t}`] = step.logits;
      states = step.states;
    }
    for (const [k, v] of Object.entries(states)) out[`frames/final_states/${k}`] = v;
    return out;
  }
}
