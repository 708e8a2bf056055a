/**
 * Semantic segmentation task (Model Garden `official/vision/tasks/semantic_segmentation.py`):
 * the model from `buildSegmentationModel`, inputs from TFRecords of segmentation tf.Examples
 * through the parallel pipeline with the segmentation parser, the loss
 * `loss_weight · (SegmentationLoss + l2)`, and the metrics:
 *   - training (`report_train_mean_iou`): `mean_iou` at the label size, the mean over classes
 *     seen in ground truth or prediction (MG MeanIoU);
 *   - evaluation: per-class IoU (`iou/<class>` with `report_per_class_iou`) and `mean_iou`, the
 *     mean of all per-class IoUs with 0 for an unseen class (MG PerClassIoU + reduce_mean); with
 *     `resize_eval_groundtruth` false the logits are rescaled to the original image through
 *     `image_info` (`rescale_predictions`) and the evaluation loss is 0, as in MG.
 */
import * as tf from '@tensorflow/tfjs-core';
import { labelOf, type TaskInference } from '../../core/inference.js';
import type { CallArgs } from '../../core/layer.js';
import type {
  ForwardResult,
  InitCheckpointSpec,
  InputOptions,
  InputPipeline,
  Metric,
  Task,
} from '../../core/task.js';
import {
  segmentationParserRef,
  type SegmentationParserOptions,
} from '../../data/parsers/segmentation_parser.js';
import { rescaledClassIds, SegmentationMeanIoU } from '../../evaluation/segmentation.js';
import { l2Regularization } from '../../losses/l2.js';
import { checkSegmentationLossOptions, segmentationLoss } from '../../losses/segmentation.js';
import {
  buildSegmentationModel,
  type SegmentationModel,
} from '../../modeling/models/segmentation_model.js';
import { tfRecordBatchInput } from '../tensor_batch_input.js';
import type { SegmentationDataConfig, SemanticSegmentationTaskConfig } from './config.js';

/** Parser features: `image` [B, h, w, 3], `masks` / `valid_masks` [B, H, W, 1], `image_info`. */
export type SegmentationBatch = Record<string, tf.Tensor>;

/** The batch feature, naming it when missing. */
function feature(batch: SegmentationBatch, name: string): tf.Tensor {
  const t = batch[name];
  if (!t) {
    throw new Error(
      `segmentation batch lacks '${name}' (has ${Object.keys(batch).join(', ') || 'nothing'})`,
    );
  }
  return t;
}

/** MG MeanIoU (training) or PerClassIoU (evaluation) over the logits and the batch's masks. */
export class SegmentationIoUMetric implements Metric<tf.Tensor, SegmentationBatch> {
  readonly name: string;
  private readonly iou: SegmentationMeanIoU;

  constructor(
    numClasses: number,
    private readonly opts: {
      ignoreLabel: number;
      rescalePredictions: boolean;
      /** false: MG MeanIoU (mean over seen classes); true: MG PerClassIoU (all classes). */
      perClass: boolean;
      reportPerClass: boolean;
    },
  ) {
    this.name = opts.perClass ? 'per_class_iou' : 'mean_iou';
    this.iou = new SegmentationMeanIoU(numClasses, {
      ignoreLabel: opts.ignoreLabel,
      rescalePredictions: opts.rescalePredictions,
    });
  }

  async update(logits: tf.Tensor, batch: SegmentationBatch): Promise<void> {
    await this.iou.update(
      logits as tf.Tensor4D,
      feature(batch, 'masks'),
      this.opts.rescalePredictions ? feature(batch, 'image_info') : undefined,
      feature(batch, 'valid_masks'),
    );
  }

  result(): Record<string, number> {
    if (!this.opts.perClass) return { mean_iou: this.iou.result().mean_iou };
    const ious = this.iou.perClassIoUKeras();
    const out: Record<string, number> = {};
    if (this.opts.reportPerClass) ious.forEach((v, i) => (out[`iou/${i}`] = v));
    out.mean_iou = ious.reduce((s, v) => s + v, 0) / ious.length;
    return out;
  }

  reset(): void {
    this.iou.reset();
  }
}

export class SemanticSegmentationTask implements Task<
  SegmentationModel,
  SegmentationBatch,
  tf.Tensor
> {
  readonly type = 'semantic_segmentation';
  readonly defaultEvalMetric = 'mean_iou';

  constructor(readonly config: SemanticSegmentationTaskConfig) {
    const m = config.model;
    if (m.input_size.length !== 3 || m.input_size[2] !== 3) {
      throw new Error(
        `task.model.input_size must be [height, width, 3] (height and width may be null), got [${m.input_size.join(', ')}]`,
      );
    }
    if (config.allow_image_summary) {
      throw new Error(
        'task.allow_image_summary: image summaries are not supported for semantic segmentation',
      );
    }
    const l = config.losses;
    checkSegmentationLossOptions(
      {
        labelSmoothing: l.label_smoothing,
        classWeights: l.class_weights,
        topKPercentPixels: l.top_k_percent_pixels,
      },
      m.num_classes,
    );
  }

  buildModel(): SegmentationModel {
    return buildSegmentationModel(this.config.model);
  }

  /** The [height, width] the training images have: model.input_size, else crop / output size. */
  private imageSize(): [number, number] {
    const [h, w] = this.config.model.input_size;
    if (h != null && w != null) return [h, w];
    const d = this.config.train_data;
    const size = d.crop_size.length ? d.crop_size : d.output_size;
    if (size.length !== 2) {
      throw new Error(
        'task.model.input_size has no height and width and task.train_data has no output_size: set one',
      );
    }
    return [size[0], size[1]];
  }

  /** A batch of zeros with the training parser's feature shapes. */
  dummyBatch(batchSize: number): SegmentationBatch {
    const [h, w] = this.imageSize();
    return {
      image: tf.zeros([batchSize, h, w, 3]),
      masks: tf.zeros([batchSize, h, w, 1]),
      valid_masks: tf.ones([batchSize, h, w, 1]),
      image_info: tf.zeros([batchSize, 4, 2]),
    };
  }

  /** The segmentation parser's options for a DataConfig (MG `build_inputs`). */
  parserOptionsFor(dc: SegmentationDataConfig, key: string): SegmentationParserOptions {
    const pair = (field: string, v: number[]): [number, number] | null => {
      if (v.length === 0) return null;
      if (v.length !== 2 || !v.every((x) => Number.isInteger(x) && x > 0)) {
        throw new Error(`task.${key}.${field} must be [height, width], got [${v.join(', ')}]`);
      }
      return [v[0], v[1]];
    };
    const output = pair('output_size', dc.output_size);
    if (!output) throw new Error(`task.${key}.output_size must be set ([height, width])`);
    const f = dc.image_feature;
    return {
      output_size: output,
      crop_size: pair('crop_size', dc.crop_size),
      resize_eval_groundtruth: dc.resize_eval_groundtruth,
      groundtruth_padded_size: pair('groundtruth_padded_size', dc.groundtruth_padded_size),
      ignore_label: this.config.losses.ignore_label,
      aug_rand_hflip: dc.aug_rand_hflip,
      preserve_aspect_ratio: dc.preserve_aspect_ratio,
      aug_scale_min: dc.aug_scale_min,
      aug_scale_max: dc.aug_scale_max,
      image_feature_name: f.feature_name,
      mean: [...f.mean],
      stddev: [...f.stddev],
    };
  }

  buildInputs(
    which: 'train' | 'validation',
    opts: InputOptions,
  ): Promise<InputPipeline<SegmentationBatch>> {
    const key = which === 'train' ? 'train_data' : 'validation_data';
    const dc = this.config[key];
    return tfRecordBatchInput<SegmentationBatch>(which, dc, opts, {
      family: 'segmentation',
      records: 'segmentation tf.Examples',
      parser: () => segmentationParserRef(this.parserOptionsFor(dc, key)),
      kind: 'tfrecord_segmentation',
    });
  }

  forward(
    model: SegmentationModel,
    batch: SegmentationBatch,
    args: CallArgs,
  ): ForwardResult<tf.Tensor> {
    const lc = this.config.losses;
    const logits = model.apply(feature(batch, 'image'), args);
    // MG's validation_step reports loss 0 when the labels keep their original size.
    if (!args.training && !this.config.validation_data.resize_eval_groundtruth) {
      return { losses: { total_loss: tf.scalar(0) }, outputs: logits };
    }
    const l2 = l2Regularization(
      model
        .trainableWeights()
        .filter((w) => w.regularize)
        .map((w) => w.variable),
      lc.l2_weight_decay,
    );
    const seg = segmentationLoss(logits as tf.Tensor4D, feature(batch, 'masks') as tf.Tensor4D, {
      labelSmoothing: lc.label_smoothing,
      classWeights: lc.class_weights,
      ignoreLabel: lc.ignore_label,
      useGroundtruthDimension: lc.use_groundtruth_dimension,
      useBinaryCrossEntropy: lc.use_binary_cross_entropy,
      topKPercentPixels: lc.top_k_percent_pixels,
    });
    const total = tf.mul(lc.loss_weight, tf.add(seg, l2)) as tf.Scalar;
    return {
      losses: { total_loss: total, segmentation_loss: seg, l2_regularization_loss: l2 },
      outputs: logits,
    };
  }

  buildMetrics(training: boolean): Metric<tf.Tensor, SegmentationBatch>[] {
    const numClasses = this.config.model.num_classes;
    const ignoreLabel = this.config.losses.ignore_label;
    const ev = this.config.evaluation;
    if (training) {
      return ev.report_train_mean_iou
        ? [
            new SegmentationIoUMetric(numClasses, {
              ignoreLabel,
              rescalePredictions: false,
              perClass: false,
              reportPerClass: false,
            }),
          ]
        : [];
    }
    return [
      new SegmentationIoUMetric(numClasses, {
        ignoreLabel,
        rescalePredictions: !this.config.validation_data.resize_eval_groundtruth,
        perClass: true,
        reportPerClass: ev.report_per_class_iou,
      }),
    ];
  }

  inferenceOutputs(
    model: SegmentationModel,
    images: tf.Tensor,
    extras: Record<string, tf.Tensor>,
  ): Record<string, tf.Tensor> {
    const unused = Object.keys(extras);
    if (unused.length) {
      throw new Error(`a segmentation model takes images only, not ${unused.join(', ')}`);
    }
    return { logits: model.apply(images, { training: false }) };
  }

  /**
   * Prediction (src/core/inference.ts): the segmentation parser's evaluation preprocessing of
   * `validation_data` (normalise, aspect-preserving fit into output_size, zero padding to it), the
   * model's `logits` as the graph output, and on the host the evaluation's `rescale_predictions`
   * (`rescaledClassIds`): the label map at the original size, with per-class pixel counts.
   */
  inference(): TaskInference<SegmentationModel> {
    const dc = this.config.validation_data;
    const { output_size: size } = this.parserOptionsFor(dc, 'validation_data');
    return {
      kind: 'segmentation',
      preprocessing: {
        input_size: [size[0], size[1], 3],
        method: 'resize_pad',
        center_crop_fraction: null,
        padded_size: [size[0], size[1]],
        interpolation: 'bilinear',
        mean: [...dc.image_feature.mean],
        stddev: [...dc.image_feature.stddev],
      },
      labels: null,
      labelSource: 'class ids (no label map)',
      outputs: (model, inputs) =>
        this.inferenceOutputs(model, inputs.image, {}) as { logits: tf.Tensor },
      decode: (outputs, frame, names) => {
        const { data, shape } = outputs.logits;
        const [oh, ow] = frame.original;
        const logits = tf.tensor4d(Float32Array.from(data), [1, shape[0], shape[1], shape[2]]);
        // image_info of the resize_pad preprocessing (no crop offset in evaluation).
        const info = [oh, ow, ...frame.scaled, ...frame.scale, 0, 0];
        const labelMap = rescaledClassIds(logits, info);
        logits.dispose();
        const counts = new Map<number, number>();
        for (const c of labelMap) counts.set(c, (counts.get(c) ?? 0) + 1);
        const pixelCounts: Record<string, number> = {};
        for (const [c, n] of [...counts].sort((a, b) => a[0] - b[0])) {
          pixelCounts[labelOf(names, c)] = n;
        }
        return { kind: 'segmentation', height: oh, width: ow, labelMap, pixelCounts };
      },
    };
  }

  /** MG `initialize`: 'all', or 'backbone' and/or 'decoder'. */
  initCheckpoint(): InitCheckpointSpec | null {
    const path = this.config.init_checkpoint;
    if (!path) return null;
    const raw = this.config.init_checkpoint_modules;
    const modules = (Array.isArray(raw) ? raw : [raw]).map((m) => m.trim()).filter(Boolean);
    for (const m of modules) {
      if (m !== 'all' && m !== 'backbone' && m !== 'decoder') {
        throw new Error(
          `task.init_checkpoint_modules: '${m}' is not a module of a segmentation model; use 'all', 'backbone' or 'decoder'`,
        );
      }
    }
    return { path, modules: modules.length ? modules : ['all'], classDependent: ['_classifier'] };
  }
}
