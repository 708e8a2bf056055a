/**
 * The prediction parts the detection tasks share (RetinaNet, Mask R-CNN; src/core/inference.ts):
 * their parsers' evaluation preprocessing, COCO labels for 91-class models, and the decoding of
 * one image's padded detections into boxes in the original image's pixels.
 */
import {
  boxToOriginal,
  labelOf,
  type DecodeOptions,
  type Detection,
  type DetectionPrediction,
  type HostTensor,
  type ImageFrame,
  type Labels,
  type Preprocessing,
} from '../core/inference.js';
import { MEAN_RGB, STDDEV_RGB } from '../data/in_memory.js';
import { cocoLabels } from '../data/label_maps/coco.js';
import { computePaddedSize } from '../data/ops/resize_and_crop.js';

/**
 * The detection parsers' evaluation preprocessing: normalise, aspect-preserving fit into
 * `outputSize`, zero padding to a multiple of 2^maxLevel unless `pad` is false.
 */
export function detectionPreprocessing(
  outputSize: readonly [number, number],
  pad: boolean | undefined,
  maxLevel: number,
): Preprocessing {
  const desired: [number, number] = [outputSize[0], outputSize[1]];
  return {
    input_size: [desired[0], desired[1], 3],
    method: 'resize_pad',
    center_crop_fraction: null,
    padded_size: pad !== false ? computePaddedSize(desired, 2 ** maxLevel) : desired,
    interpolation: 'bilinear',
    mean: [...MEAN_RGB],
    stddev: [...STDDEV_RGB],
  };
}

/** Model Garden's COCO detectors: 91 classes, class id = COCO category id. */
export function detectorLabels(numClasses: number): { labels: Labels; labelSource: string } {
  return numClasses === 91
    ? { labels: cocoLabels(), labelSource: 'COCO category names' }
    : { labels: null, labelSource: 'class ids (no label map)' };
}

/**
 * One image's `detection_boxes` / `_scores` / `_classes` / `num_detections` as detections in the
 * original image's pixels (scores below `opts.scoreThreshold` left out); `extra(i, box)` adds
 * fields to detection i (`box` its model-frame box), e.g. a mask.
 */
export function decodeDetections(
  outputs: Record<string, HostTensor>,
  frame: ImageFrame,
  labels: Labels,
  opts: DecodeOptions,
  extra?: (i: number, box: Float32Array | Int32Array) => Partial<Detection>,
): DetectionPrediction {
  const n = outputs.num_detections.data[0];
  const boxes = outputs.detection_boxes.data;
  const scores = outputs.detection_scores.data;
  const classes = outputs.detection_classes.data;
  const threshold = opts.scoreThreshold ?? 0;
  const detections: Detection[] = [];
  for (let i = 0; i < n; i++) {
    if (scores[i] < threshold) continue;
    const box = boxes.subarray(4 * i, 4 * i + 4);
    detections.push({
      box: boxToOriginal(box, frame),
      classId: classes[i],
      label: labelOf(labels, classes[i]),
      score: scores[i],
      ...extra?.(i, box),
    });
  }
  return { kind: 'detection', detections };
}
