/**
 * RetinaNet task (Model Garden `official/vision/tasks/retinanet.py`): builds the model from the
 * backbone and decoder factories, the inputs from TFRecords of detection tf.Examples through the
 * parallel pipeline with the RetinaNet parser (anchor labels made on the worker threads), the
 * losses (focal + Huber box loss normalised by positives, l2) and the COCO metrics.
 *
 * Evaluation: detections are mapped back to the original image with `image_info` and fed to the
 * streaming COCO evaluator keyed by each example's `source_id`; without an annotation file the
 * ground truth is gathered from the evaluated examples, as Model Garden's COCOEvaluator does.
 */
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
import type { TaskInference } from '../../core/inference.js';
import { MEAN_RGB, STDDEV_RGB } from '../../data/in_memory.js';
import {
  retinaNetParserRef,
  type RetinaNetParserOptions,
} from '../../data/parsers/retinanet_parser.js';
import { CocoGroundTruth } from '../../evaluation/coco/dataset.js';
import { CocoStreamingEvaluator, type DetectionBatch } from '../../evaluation/coco/streaming.js';
import { l2Regularization } from '../../losses/l2.js';
import { retinanetLosses } from '../../losses/retinanet.js';
import { buildBackbone } from '../../modeling/backbones/factory.js';
import { buildDecoder } from '../../modeling/decoders/factory.js';
import {
  buildRetinaNet,
  type RetinaNetModel,
  type RetinaNetOutputs,
} from '../../modeling/models/retinanet_model.js';
import { tfRecordBatchInput } from '../tensor_batch_input.js';
import {
  decodeDetections,
  detectionPreprocessing,
  detectorLabels,
} from '../detection_inference.js';
import type { RetinaNetDataConfig, RetinaNetTaskConfig } from './config.js';

/** Parser features by name: `image`, `image_info`, `cls_targets/<l>`, `groundtruths/...`. */
export type RetinaNetBatch = Record<string, tf.Tensor>;

/** The levels min..max as strings. */
function levels(min: number, max: number): string[] {
  return Array.from({ length: max - min + 1 }, (_, i) => String(min + i));
}

/** Level → tensor of `batch[prefix/level]`; names the missing feature. */
function perLevel(batch: RetinaNetBatch, prefix: string, lv: string[]): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const l of lv) {
    const t = batch[`${prefix}/${l}`];
    if (!t) throw new Error(`retinanet batch lacks '${prefix}/${l}'`);
    out[l] = t;
  }
  return out;
}

/** Host copies of one evaluated batch: detections and the examples' ground truth. */
interface EvalRecord {
  detections: DetectionBatch;
  gtBoxes: Float32Array;
  gtClasses: Int32Array;
  gtAreas: Float32Array;
  gtCrowds: Int32Array;
  heights: Int32Array;
  widths: Int32Array;
}

/**
 * COCO box metrics (Model Garden `COCOEvaluator` without an annotation file): the ground truth of
 * the evaluated examples (`groundtruths/*`, boxes in original pixels) becomes the COCO dataset;
 * the detections go through {@link CocoStreamingEvaluator}, which undoes `image_info`.
 */
export class CocoDetectionMetric implements Metric<RetinaNetOutputs, RetinaNetBatch> {
  readonly name = 'coco';
  private records: EvalRecord[] = [];

  constructor(private readonly maxDetections: number) {}

  async update(outputs: RetinaNetOutputs, batch: RetinaNetBatch): Promise<void> {
    const need = ['detection_boxes', 'detection_scores', 'detection_classes', 'num_detections'];
    for (const k of need) {
      if (!outputs[k as keyof RetinaNetOutputs]) {
        throw new Error(
          `coco metric: model outputs lack '${k}' (is detection_generator.apply_nms off?)`,
        );
      }
    }
    const g = (k: string): tf.Tensor => {
      const t = batch[`groundtruths/${k}`];
      if (!t) throw new Error(`coco metric: batch lacks 'groundtruths/${k}' (an evaluation batch)`);
      return t;
    };
    const read = async (t: tf.Tensor) => t.data();
    const [ids, boxes, classes, scores, num, info, gb, gc, ga, gcr, gh, gw] = await Promise.all([
      read(g('source_id')),
      read(outputs.detection_boxes!),
      read(outputs.detection_classes!),
      read(outputs.detection_scores!),
      read(outputs.num_detections!),
      read(batch.image_info),
      read(g('boxes')),
      read(g('classes')),
      read(g('areas')),
      read(g('is_crowds')),
      read(g('height')),
      read(g('width')),
    ]);
    this.records.push({
      detections: { sourceIds: ids, boxes, classes, scores, numDetections: num, imageInfo: info },
      gtBoxes: gb as Float32Array,
      gtClasses: gc as Int32Array,
      gtAreas: ga as Float32Array,
      gtCrowds: gcr as Int32Array,
      heights: gh as Int32Array,
      widths: gw as Int32Array,
    });
  }

  /** The ground truth of the evaluated examples as a COCO dataset (padding rows skipped). */
  private groundTruth(): CocoGroundTruth {
    const images = new Map<number, { id: number; height: number; width: number }>();
    const annotations: Record<string, unknown>[] = [];
    const cats = new Set<number>();
    for (const r of this.records) {
      const ids = r.detections.sourceIds;
      const per = r.gtClasses.length / ids.length;
      for (let b = 0; b < ids.length; b++) {
        const id = ids[b];
        if (images.has(id)) continue;
        images.set(id, { id, height: r.heights[b], width: r.widths[b] });
        for (let i = b * per; i < (b + 1) * per; i++) {
          const cls = r.gtClasses[i];
          if (cls < 0) continue;
          const [y0, x0, y1, x1] = r.gtBoxes.subarray(i * 4, i * 4 + 4);
          const area = r.gtAreas[i] > 0 ? r.gtAreas[i] : (y1 - y0) * (x1 - x0);
          cats.add(cls);
          annotations.push({
            id: annotations.length + 1,
            image_id: id,
            category_id: cls,
            bbox: [x0, y0, x1 - x0, y1 - y0],
            area,
            iscrowd: r.gtCrowds[i],
          });
        }
      }
    }
    return new CocoGroundTruth(
      {
        images: [...images.values()],
        annotations,
        categories: [...cats].sort((a, b) => a - b).map((id) => ({ id })),
      },
      'evaluated examples',
    );
  }

  result(): Record<string, number> {
    if (this.records.length === 0) return {};
    const evaluator = new CocoStreamingEvaluator({
      groundTruth: this.groundTruth(),
      maxDetections: this.maxDetections,
    });
    for (const r of this.records) evaluator.update(r.detections);
    return evaluator.evaluate();
  }

  reset(): void {
    this.records = [];
  }
}

/** What {@link detectionParserGeometry} reads of a detection model config. */
interface DetectionModelFields {
  input_size: number[];
  min_level: number;
  max_level: number;
  anchor: { num_scales: number; aspect_ratios: number[]; anchor_size: number };
}

/** What {@link detectionParserGeometry} reads of a detection parser config. */
interface DetectionParserFields {
  num_channels: number;
  pad: boolean;
  aug_rand_hflip: boolean;
  aug_scale_min: number;
  aug_scale_max: number;
  skip_crowd_during_training: boolean;
  max_num_instances: number;
}

/**
 * The image, box and anchor options that the RetinaNet and Mask R-CNN tasks pass their parsers
 * alike (MG `build_inputs` of both tasks): the model's input size, levels and anchors, the parser
 * section's augmentation and instance limit, ImageNet normalisation.
 */
export function detectionParserGeometry(m: DetectionModelFields, p: DetectionParserFields) {
  if (p.num_channels !== 3) {
    throw new Error(`parser.num_channels: only 3 (RGB) is supported, got ${p.num_channels}`);
  }
  return {
    output_size: [m.input_size[0], m.input_size[1]] as [number, number],
    pad: p.pad,
    min_level: m.min_level,
    max_level: m.max_level,
    num_scales: m.anchor.num_scales,
    aspect_ratios: [...m.anchor.aspect_ratios],
    anchor_size: m.anchor.anchor_size,
    aug_rand_hflip: p.aug_rand_hflip,
    aug_scale_min: p.aug_scale_min,
    aug_scale_max: p.aug_scale_max,
    skip_crowd_during_training: p.skip_crowd_during_training,
    max_num_instances: p.max_num_instances,
    mean: [...MEAN_RGB],
    stddev: [...STDDEV_RGB],
  };
}

export class RetinaNetTask implements Task<RetinaNetModel, RetinaNetBatch, RetinaNetOutputs> {
  readonly type = 'retinanet';
  readonly defaultEvalMetric = 'AP';

  constructor(readonly config: RetinaNetTaskConfig) {
    const m = config.model;
    if (m.input_size.length !== 3 || m.input_size[2] !== 3) {
      throw new Error(
        `task.model.input_size must be [height, width, 3], got [${m.input_size.join(', ')}]`,
      );
    }
    if (!(m.num_classes > 1)) {
      throw new Error(
        `task.model.num_classes must be > 1 (class 0 is the background), got ${m.num_classes}`,
      );
    }
  }

  buildModel(): RetinaNetModel {
    const m = this.config.model;
    const backbone = buildBackbone(m.backbone, m.norm_activation);
    const decoder = buildDecoder(m.decoder, {
      inputSpecs: backbone.outputSpecs,
      minLevel: m.min_level,
      maxLevel: m.max_level,
      normActivation: m.norm_activation,
    });
    // attribute_heads is rejected by the config (the task has no attribute losses).
    const model = buildRetinaNet(backbone, decoder, {
      ...m,
      // MG's head tests `share_level_convs` for truth: None shares nothing.
      head: {
        ...m.head,
        attribute_heads: null,
        share_level_convs: m.head.share_level_convs ?? false,
      },
    });
    // MG's RetinaNetTask sets `model.backbone.trainable = False` when freeze_backbone is set.
    if (this.config.freeze_backbone) model.backbone.trainable = false;
    return model;
  }

  /**
   * Inference outputs under Model Garden's names (what `vision-garden forward` writes and
   * `predict` reads): `cls_outputs/<l>`, `box_outputs/<l>` and the generator's detections (or
   * decoded boxes). `extras.image_shape` ([B, 2] un-padded sizes) clips the detections, as MG's
   * `image_shape` argument; without it they are not clipped.
   */
  inferenceOutputs(
    model: RetinaNetModel,
    images: tf.Tensor,
    extras: Record<string, tf.Tensor>,
  ): Record<string, tf.Tensor> {
    const unused = Object.keys(extras).filter((k) => k !== 'image_shape');
    if (unused.length) {
      throw new Error(`a RetinaNet model takes images and image_shape, not ${unused.join(', ')}`);
    }
    const shape = extras.image_shape;
    if (shape && (shape.rank !== 2 || shape.shape[1] !== 2 || shape.shape[0] !== images.shape[0])) {
      throw new Error(
        `image_shape must be [batch ${images.shape[0]}, 2] (height, width), got [${shape.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      const imageShape = shape ? tf.cast(shape, 'float32') : null;
      const out = model.apply({ images, imageShape }, { training: false });
      const flat: Record<string, tf.Tensor> = {};
      for (const branch of ['cls_outputs', 'box_outputs'] as const) {
        for (const [level, t] of Object.entries(out[branch])) flat[`${branch}/${level}`] = t;
      }
      for (const [name, t] of Object.entries(out)) {
        if (t instanceof tf.Tensor) flat[name] = t;
      }
      return flat;
    });
  }

  /** A batch of zeros with the parser's feature shapes (training features only). */
  dummyBatch(batchSize: number): RetinaNetBatch {
    const m = this.config.model;
    const [h, w] = m.input_size;
    const a = m.anchor.num_scales * m.anchor.aspect_ratios.length;
    const out: RetinaNetBatch = {
      image: tf.zeros([batchSize, h, w, 3]),
      image_info: tf.zeros([batchSize, 4, 2]),
    };
    let n = 0;
    for (const l of levels(m.min_level, m.max_level)) {
      const s = 2 ** Number(l);
      const [hl, wl] = [Math.ceil(h / s), Math.ceil(w / s)];
      out[`cls_targets/${l}`] = tf.fill([batchSize, hl, wl, a], -1, 'int32');
      out[`box_targets/${l}`] = tf.zeros([batchSize, hl, wl, a * 4]);
      out[`anchor_boxes/${l}`] = tf.zeros([batchSize, hl, wl, a * 4]);
      n += hl * wl * a;
    }
    out.cls_weights = tf.ones([batchSize, n]);
    out.box_weights = tf.zeros([batchSize, n]);
    return out;
  }

  /** The RetinaNet parser's options for a DataConfig (MG `RetinaNetTask.build_inputs`). */
  parserOptionsFor(dc: RetinaNetDataConfig): RetinaNetParserOptions {
    const m = this.config.model;
    const p = dc.parser;
    const weights = m.detection_generator.box_coder_weights;
    return {
      ...detectionParserGeometry(m, p),
      match_threshold: p.match_threshold,
      unmatched_threshold: p.unmatched_threshold,
      keep_aspect_ratio: p.keep_aspect_ratio,
      box_coder_weights: weights ? (weights as [number, number, number, number]) : null,
    };
  }

  buildInputs(
    which: 'train' | 'validation',
    opts: InputOptions,
  ): Promise<InputPipeline<RetinaNetBatch>> {
    const dc = this.config[which === 'train' ? 'train_data' : 'validation_data'];
    return tfRecordBatchInput<RetinaNetBatch>(which, dc, opts, {
      family: 'detection',
      records: 'detection tf.Examples',
      parser: () => retinaNetParserRef(this.parserOptionsFor(dc)),
      kind: 'tfrecord_retinanet',
    });
  }

  forward(
    model: RetinaNetModel,
    batch: RetinaNetBatch,
    args: CallArgs,
  ): ForwardResult<RetinaNetOutputs> {
    const m = this.config.model;
    const lc = this.config.losses;
    const lv = levels(m.min_level, m.max_level);
    const outputs = model.apply(
      {
        images: batch.image,
        // MG passes image_info[:, 1, :] (the scaled image size) to clip the detections.
        imageShape: args.training
          ? null
          : tf.squeeze(tf.slice(batch.image_info, [0, 1, 0], [-1, 1, 2]), [1]),
        anchorBoxes: args.training ? null : perLevel(batch, 'anchor_boxes', lv),
      },
      args,
    );
    const l2 = l2Regularization(
      model
        .trainableWeights()
        .filter((w) => w.regularize)
        .map((w) => w.variable),
      lc.l2_weight_decay,
    );
    const r = retinanetLosses(
      {
        clsOutputs: outputs.cls_outputs,
        boxOutputs: outputs.box_outputs,
        clsTargets: perLevel(batch, 'cls_targets', lv),
        boxTargets: perLevel(batch, 'box_targets', lv),
        clsWeights: batch.cls_weights,
        boxWeights: batch.box_weights,
        regularization: l2,
      },
      {
        numClasses: m.num_classes,
        focalLossAlpha: lc.focal_loss_alpha,
        focalLossGamma: lc.focal_loss_gamma,
        huberLossDelta: lc.huber_loss_delta,
        boxLossWeight: lc.box_loss_weight,
        lossWeight: lc.loss_weight,
      },
    );
    const losses: Losses = {
      total_loss: r.total_loss,
      cls_loss: r.cls_loss,
      box_loss: r.box_loss,
      model_loss: r.model_loss,
      l2_regularization_loss: l2,
    };
    return { losses, outputs };
  }

  buildMetrics(training: boolean): Metric<RetinaNetOutputs, RetinaNetBatch>[] {
    return training ? [] : [new CocoDetectionMetric(this.config.max_num_eval_detections)];
  }

  /**
   * Prediction (src/core/inference.ts): the RetinaNet parser's eval preprocessing of
   * `validation_data` (normalise, aspect-preserving fit into input_size, zero padding to
   * 2^max_level when `parser.pad`: `retinaNetEvalImage`'s geometry), the model's detection
   * generator (decoding and padded NMS inside the graph), detections mapped back to the original
   * image's pixels by image_info's scale and clipped to it.
   */
  inference(): TaskInference<RetinaNetModel> {
    const m = this.config.model;
    if (!m.detection_generator.apply_nms) {
      throw new Error(
        'task.model.detection_generator.apply_nms: prediction needs NMS (set it true)',
      );
    }
    if (this.config.validation_data.parser.keep_aspect_ratio === false) {
      throw new Error(
        'task.validation_data.parser.keep_aspect_ratio: false is not supported (resize_and_crop keeps the aspect ratio)',
      );
    }
    const parser = this.parserOptionsFor(this.config.validation_data);
    return {
      kind: 'detection',
      preprocessing: detectionPreprocessing(parser.output_size, parser.pad, m.max_level),
      ...detectorLabels(m.num_classes),
      outputs: (model, inputs) => {
        const out = this.inferenceOutputs(model, inputs.image, { image_shape: inputs.image_shape });
        // The per-level raw outputs are freed by the caller's tidy (or left out of the graph).
        return {
          detection_boxes: out.detection_boxes,
          detection_scores: out.detection_scores,
          detection_classes: out.detection_classes,
          num_detections: out.num_detections,
        };
      },
      decode: (outputs, frame, labels, opts) => decodeDetections(outputs, frame, labels, opts),
    };
  }
}
