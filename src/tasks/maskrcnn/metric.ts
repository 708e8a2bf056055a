/**
 * COCO box and mask AP of an R-CNN model against a COCO ground truth (Model Garden's
 * `COCOEvaluator` with an annotation file, official/vision/evaluation/coco_evaluator.py): each
 * batch's detections go straight to the streaming evaluator, which maps boxes back to the
 * original image (image_info), pastes the 28x28 masks at the original resolution
 * (`paste_instance_masks`), binarizes them at 0.5 and RLE-encodes them; `result()` reports the
 * box keys (`AP`, `AP50`, ...) and, with masks, the same keys prefixed `mask_`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Metric } from '../../core/task.js';
import type { CocoGroundTruth } from '../../evaluation/coco/dataset.js';
import { CocoStreamingEvaluator } from '../../evaluation/coco/streaming.js';

export interface CocoInstanceMetricOptions {
  /** The ground truth, read on the first update (a file or a scan of the validation records). */
  groundTruth: () => Promise<CocoGroundTruth>;
  /** Evaluate `detection_masks` too (segm). */
  includeMask: boolean;
  /** maxDets[2] (Model Garden's COCOEvaluator: 100). */
  maxDetections: number;
}

type Tensors = Record<string, unknown>;

function tensor(from: Tensors, key: string, what: string): tf.Tensor {
  const t = from[key] as tf.Tensor | undefined;
  if (!t) throw new Error(`coco metric: ${what} lack '${key}'`);
  return t;
}

export class CocoInstanceMetric implements Metric<Tensors, Tensors> {
  readonly name = 'coco';
  private evaluator: CocoStreamingEvaluator | null = null;

  constructor(private readonly opts: CocoInstanceMetricOptions) {}

  async update(outputs: Tensors, batch: Tensors): Promise<void> {
    const out = (k: string) => tensor(outputs, k, 'model outputs');
    const masks = this.opts.includeMask ? out('detection_masks') : undefined;
    const tensors = {
      sourceIds: tensor(batch, 'groundtruths/source_id', 'the batch (an evaluation batch)'),
      boxes: out('detection_boxes'),
      classes: out('detection_classes'),
      scores: out('detection_scores'),
      numDetections: out('num_detections'),
      imageInfo: tensor(batch, 'image_info', 'the batch'),
      masks,
    };
    this.evaluator ??= new CocoStreamingEvaluator({
      groundTruth: await this.opts.groundTruth(),
      includeMask: this.opts.includeMask,
      maxDetections: this.opts.maxDetections,
    });
    await this.evaluator.updateFromTensors(tensors);
  }

  result(): Record<string, number> {
    return this.evaluator ? this.evaluator.result() : {};
  }

  reset(): void {
    this.evaluator?.reset();
  }
}
