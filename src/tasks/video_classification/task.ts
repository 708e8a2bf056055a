/**
 * Video classification task (Model Garden `tasks/video_classification.py`): the model of
 * `task.model` (`model_type` 'video_classification': ResNet-3D; 'movinet': MoViNet) with
 * `train_data.num_classes` classes, softmax cross-entropy with
 * label smoothing plus l2 weight decay, top-1 / top-5 accuracy, inference logits, and the
 * streaming outputs of causal models (`streamOutputs`, used by `forward --stream`).
 */
import { tfRecordBatchInput } from '../tensor_batch_input.js';
import * as tf from '@tensorflow/tfjs-core';
import type { CallArgs } from '../../core/layer.js';
import type {
  ForwardResult,
  InputOptions,
  InputPipeline,
  Losses,
  Metric,
  Task,
} from '../../core/task.js';
import type { HostBatch } from '../../data/pipeline/index.js';
import { videoParserRef } from '../../data/parsers/video_parser.js';
import { aggregateMultiView } from '../../evaluation/video.js';
import { decodeTopK } from '../image_classification/task.js';
import type { TaskInference } from '../../core/inference.js';
import {
  KINETICS_400_CLASS_NAMES,
  KINETICS_600_CLASS_NAMES,
} from '../../data/label_maps/kinetics.js';
import { TopKAccuracy } from '../../evaluation/classification.js';
import { softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from '../../losses/classification.js';
import { l2Regularization } from '../../losses/l2.js';
import type { States } from '../../modeling/layers/stream_layers.js';
import {
  buildMovinetModel,
  initialStreamInputs,
  MovinetClassifier,
  movinetStreamStep,
} from '../../modeling/models/movinet_model.js';
import {
  buildVideoClassificationModel,
  type VideoClassificationModel,
} from '../../modeling/models/video_classification_model.js';
import type { VideoClassificationTaskConfig, VideoDataConfig } from './config.js';

/** Kinetics class names by Model Garden's data set names. */
const KINETICS_NAMES: Record<string, readonly string[]> = {
  kinetics400: KINETICS_400_CLASS_NAMES,
  kinetics600: KINETICS_600_CLASS_NAMES,
};

/**
 * A video classifier's class names: Kinetics-400/600's when a data config names that data set
 * (`name`, validation_data first) or, unnamed, when the model has 400 or 600 classes; else none
 * (class ids; `predict --label_map` gives them).
 */
export function videoLabels(task: VideoClassificationTaskConfig): {
  labels: readonly string[] | null;
  source: string;
} {
  const numClasses = task.train_data.num_classes;
  for (const [key, data] of [
    ['validation_data', task.validation_data],
    ['train_data', task.train_data],
  ] as const) {
    const names = data.name ? KINETICS_NAMES[data.name] : undefined;
    if (!names) continue;
    if (names.length !== numClasses) {
      throw new Error(
        `task.${key}.name is ${data.name} (${names.length} classes) but task.train_data.num_classes is ${numClasses}`,
      );
    }
    return { labels: names, source: `${data.name} class names` };
  }
  for (const [name, names] of Object.entries(KINETICS_NAMES)) {
    if (names.length === numClasses) return { labels: names, source: `${name} class names` };
  }
  return { labels: null, source: 'class ids (no label map)' };
}

/**
 * Mean softmax over each video's views: `image` [B, views * t, H, W, 3] (the views' frames in
 * turn, as the parser stacks them) as `views` clips per video, run by the model or by `step`
 * (stream models: the clips with their stream states). As MG's multi-view evaluation (softmax,
 * then the mean over the views).
 */
function viewProbabilities(
  model: VideoModel,
  image: tf.Tensor,
  views: number,
  step?: (clips: tf.Tensor) => { logits: tf.Tensor },
): tf.Tensor {
  if (image.rank !== 5) {
    throw new Error(
      `video inference: expected clips [batch, views * frames, height, width, 3], got [${image.shape}]`,
    );
  }
  const [b, vt, h, w, c] = image.shape;
  if (vt % views !== 0) {
    throw new Error(`video inference: ${vt} frames are not ${views} views of equal length`);
  }
  const clips = tf.reshape(image, [b * views, vt / views, h, w, c]);
  const logits = step ? step(clips).logits : clipLogits(model, clips, { training: false });
  return aggregateMultiView(logits as tf.Tensor2D, views);
}

export type VideoBatch = { image: tf.Tensor; label: tf.Tensor };
export type VideoOutputs = { logits: tf.Tensor };
/** The model of either `model_type`. */
export type VideoModel = VideoClassificationModel | MovinetClassifier;

/** Logits [B, classes] of a clip batch [B, T, H, W, 3] (a MoViNet from zero states). */
export function clipLogits(model: VideoModel, image: tf.Tensor, args: CallArgs): tf.Tensor {
  return model instanceof MovinetClassifier
    ? model.apply({ image }, args).logits
    : model.apply(image, args);
}

/** The MoViNet model, or an error naming what `what` needs. */
function movinet(model: VideoModel, what: string): MovinetClassifier {
  if (!(model instanceof MovinetClassifier)) {
    throw new Error(`${what} needs a MoViNet model (task.model.model_type: movinet)`);
  }
  return model;
}

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

/** The parser options of a data config (MG video_input.Parser reads these fields). */
export function videoParserOptions(dc: VideoDataConfig) {
  const [t, h, w, c] = dc.feature_shape;
  return {
    feature_shape: [t, h, w, c] as [number, number, number, number],
    num_classes: dc.num_classes,
    temporal_stride: dc.temporal_stride,
    random_stride_range: dc.random_stride_range,
    num_test_clips: dc.num_test_clips,
    num_test_crops: dc.num_test_crops,
    min_image_size: dc.min_image_size,
    zero_centering_image: dc.zero_centering_image,
    one_hot: dc.one_hot,
    aug_min_aspect_ratio: dc.aug_min_aspect_ratio,
    aug_max_aspect_ratio: dc.aug_max_aspect_ratio,
    aug_min_area_ratio: dc.aug_min_area_ratio,
    aug_max_area_ratio: dc.aug_max_area_ratio,
    aug_type: dc.aug_type ?? null,
    image_field_key: dc.image_field_key,
    label_field_key: dc.label_field_key,
  };
}

/**
 * A video host batch as tensors: the parser's views, stacked on the time axis, split into clips
 * of `frames` frames (`[B·views, frames, H, W, C]`).
 */
function videoBatchTensors(hb: HostBatch, frames: number): VideoBatch {
  const { image, label } = hb;
  if (!image || !label) throw new Error('video batch lacks image or label');
  const [b, vt, h, w, c] = image.shape;
  return {
    image: tf.tensor5d(image.data as Float32Array, [(b * vt) / frames, frames, h, w, c]),
    label:
      label.shape.length === 2
        ? tf.tensor2d(label.data as Float32Array, label.shape as [number, number])
        : tf.tensor1d(label.data as Int32Array, 'int32'),
  };
}

export class VideoClassificationTask implements Task<VideoModel, VideoBatch, VideoOutputs> {
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

  buildModel(): VideoModel {
    const m = this.config.model;
    return m.model_type === 'movinet'
      ? buildMovinetModel(m, this.numClasses)
      : buildVideoClassificationModel(m, this.numClasses);
  }

  /** Zero clips of one frame at train_data.feature_shape's size (weights do not depend on T). */
  dummyBatch(batchSize: number): VideoBatch {
    const [, h, w, c] = this.config.train_data.feature_shape;
    return {
      image: tf.zeros([batchSize, 1, h ?? 1, w ?? 1, c ?? 3]),
      label: tf.zeros([batchSize, this.numClasses]),
    };
  }

  /**
   * TFRecords of tf.SequenceExamples (`input_path`) through Model Garden's video parser on the
   * worker threads. Evaluation batches carry `num_test_clips * num_test_crops` views per video
   * (`image` [B * views, T, H, W, 3], `label` one row per video); {@link forward} averages their
   * softmax.
   */
  async buildInputs(
    which: 'train' | 'validation',
    opts: InputOptions,
  ): Promise<InputPipeline<VideoBatch>> {
    const key = which === 'train' ? 'train_data' : 'validation_data';
    const dc = this.config[key];
    if (!opts.training && dc.num_test_clips * dc.num_test_crops !== this.views) {
      throw new Error(
        `task.${key}: num_test_clips x num_test_crops must be validation_data's (${this.views}) views`,
      );
    }
    const [T] = dc.feature_shape;
    return tfRecordBatchInput<VideoBatch>(which, dc, opts, {
      family: 'video',
      records: 'tf.SequenceExamples',
      parser: () => videoParserRef(videoParserOptions(dc)),
      kind: 'tfrecord_video_classification',
      toTensors: (hb) => videoBatchTensors(hb, T),
    });
  }

  /** Views per evaluation video: validation_data's num_test_clips x num_test_crops. */
  get views(): number {
    const v = this.config.validation_data;
    return v.num_test_clips * v.num_test_crops;
  }

  forward(model: VideoModel, batch: VideoBatch, args: CallArgs): ForwardResult<VideoOutputs> {
    let logits = clipLogits(model, batch.image, args);
    if (!args.training && this.views > 1 && logits.shape[0] !== batch.label.shape[0]) {
      // MG's multi-view evaluation: the mean of the views' softmax; its log as the logits, so
      // the loss is the cross-entropy of the averaged probabilities and top-k ranks them.
      logits = tf.log(tf.maximum(aggregateMultiView(logits as tf.Tensor2D, this.views), 1e-12));
    }
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

  /**
   * Prediction (src/core/inference.ts): validation_data's clip sampling as MG's video parser
   * evaluates (feature_shape frames every temporal_stride, num_test_clips x num_test_crops
   * views, short side resized to min_image_size, [0, 1] or [-1, 1]), the mean softmax over the
   * views, top-k classes named by {@link videoLabels}. Causal MoViNets with external states also
   * stream: one frame (of every view) per call, states carried between calls.
   */
  inference(): TaskInference<VideoModel> {
    const dc = this.config.validation_data;
    const [T, H, W, C] = dc.feature_shape;
    if (C !== 3) {
      throw new Error(
        `task.validation_data.feature_shape: prediction reads RGB frames, got ${C} channels`,
      );
    }
    if (dc.num_test_crops !== 1 && dc.num_test_crops !== 3) {
      throw new Error(
        `task.validation_data.num_test_crops must be 1 or 3, got ${dc.num_test_crops}`,
      );
    }
    const views = dc.num_test_clips * dc.num_test_crops;
    const { labels, source } = videoLabels(this.config);
    const zc = dc.zero_centering_image;
    const m = this.config.model;
    const streams =
      m.model_type === 'movinet' &&
      m.backbone.type === 'movinet' &&
      m.backbone.movinet?.use_external_states === true;
    return {
      kind: 'classification',
      preprocessing: {
        input_size: [H, W, C],
        method: 'video_clip',
        center_crop_fraction: null,
        padded_size: null,
        interpolation: 'bilinear',
        // MG video_input: [0, 1], or [-1, 1] with zero_centering_image.
        mean: zc ? [127.5, 127.5, 127.5] : [0, 0, 0],
        stddev: zc ? [127.5, 127.5, 127.5] : [255, 255, 255],
        video: {
          num_frames: T,
          temporal_stride: dc.temporal_stride,
          num_test_clips: dc.num_test_clips,
          num_test_crops: dc.num_test_crops,
          min_image_size: dc.min_image_size,
        },
      },
      labels,
      labelSource: source,
      outputs: (model, inputs) => ({
        probabilities: viewProbabilities(model, inputs.image, views),
      }),
      decode: (outputs, _frame, names, opts) => decodeTopK(outputs, names, opts),
      ...(streams
        ? {
            stream: {
              initialState: (model, image) => {
                const [b, vt, h, w, c] = image.shape;
                return initialStreamInputs(movinet(model, 'streaming'), [
                  b * views,
                  vt / views,
                  h,
                  w,
                  c,
                ]);
              },
              step: (model, inputs) => {
                const { image, ...stateInputs } = inputs;
                const step = movinetStreamStep(movinet(model, 'streaming'));
                let state: Record<string, tf.Tensor> = {};
                const probabilities = viewProbabilities(model, image, views, (clips) => {
                  const out = step({ image: clips, ...stateInputs });
                  state = out.state;
                  return out;
                });
                return { outputs: { probabilities }, state };
              },
            },
          }
        : {}),
    };
  }

  inferenceOutputs(
    model: VideoModel,
    images: tf.Tensor,
    extras: Record<string, tf.Tensor>,
  ): Record<string, tf.Tensor> {
    const unused = Object.keys(extras);
    if (unused.length) throw new Error(`a video model takes clips only, not ${unused.join(', ')}`);
    if (!(model instanceof MovinetClassifier)) {
      return { logits: model.apply(images, { training: false }) };
    }
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
  streamOutputs(videoModel: VideoModel, video: tf.Tensor): Record<string, tf.Tensor> {
    const model = movinet(videoModel, '--stream');
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
