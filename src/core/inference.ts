/**
 * What a task declares so that a trained model predicts on raw images: its preprocessing (the
 * evaluation preprocessing of the task's Model Garden parser), its label names, the inference
 * graph (normalised images in, tensors out; what the engine compiles and `export --format onnx`
 * writes) and the decoding of one image's outputs into a JSON prediction. `model.json` of the
 * vg format stores the preprocessing and labels; the library's `predict` runs these parts for
 * any task that implements {@link TaskInference} (src/api).
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The evaluation preprocessing of a model's input image (stored in `model.json`). */
export interface Preprocessing {
  /** [height, width, channels] of the model input. */
  input_size: [number, number, number];
  /**
   * 'center_crop': a square center crop of `center_crop_fraction` of the short side (none when
   * null), then a resize to input_size (Model Garden's classification_input `_parse_eval_image`).
   * 'resize_pad': scaled to fit input_size keeping the aspect ratio, top-left aligned, zero padded
   * to `padded_size` (preprocess_ops.resize_and_crop_image as the detection parsers call it).
   */
  method: 'center_crop' | 'resize_pad';
  center_crop_fraction: number | null;
  /** 'resize_pad' only: the padded output size (input_size rounded up to 2^max_level). */
  padded_size: [number, number] | null;
  /** Resize interpolation: 'bilinear' (TF2 half-pixel centers, no antialiasing) or 'nearest'. */
  interpolation: 'bilinear' | 'nearest';
  /** Per-channel mean and standard deviation in 0..255 units, applied before ('resize_pad') or
   * after ('center_crop') the resize as the parsers do. */
  mean: number[];
  stddev: number[];
}

/** Where a preprocessed image sits in its original: what maps outputs back to its pixels. */
export interface ImageFrame {
  /** [height, width] of the original image. */
  original: [number, number];
  /** [height, width] the content was fitted into (Model Garden's image_info row 1, by which the
   * detection generator clips); the model input size for center crops. */
  scaled: [number, number];
  /** scaled / original per axis. */
  scale: [number, number];
}

/** One image's row of a graph output, on the host. */
export interface HostTensor {
  data: Float32Array | Int32Array;
  /** The shape without the batch axis. */
  shape: number[];
}

export interface DecodeOptions {
  /** Classification: classes to report (default 5). */
  topK?: number;
  /** Detection: drop detections scoring below this (default 0: keep all valid ones). */
  scoreThreshold?: number;
}

export interface RankedClass {
  id: number;
  label: string;
  score: number;
}

/** A binary mask as COCO's compressed RLE (pycocotools `mask.encode`, `counts` a string). */
export interface RleMask {
  /** [height, width] of the image the mask covers. */
  size: [number, number];
  counts: string;
}

export interface Detection {
  /** [ymin, xmin, ymax, xmax] in the original image's pixels. */
  box: [number, number, number, number];
  classId: number;
  label: string;
  score: number;
  /** Instance segmentation models: the instance's mask over the original image. */
  mask?: RleMask;
}

export interface ClassificationPrediction {
  kind: 'classification';
  classes: RankedClass[];
}

export interface DetectionPrediction {
  kind: 'detection';
  detections: Detection[];
}

export interface SegmentationPrediction {
  kind: 'segmentation';
  /** The original image's size: the label map's. */
  height: number;
  width: number;
  /** Class id per original pixel, row-major [height, width]. */
  labelMap: Int32Array;
  /** Pixels per predicted class, by label (or `class <id>`), in class id order. */
  pixelCounts: Record<string, number>;
}

/** What `predict` returns per image; families with other outputs add their own kinds. */
export type Prediction =
  | ClassificationPrediction
  | DetectionPrediction
  | SegmentationPrediction
  | { kind: string; [key: string]: unknown };

/** The graph inputs of every inference graph. */
export interface InferenceInputs {
  /** Normalised images [B, H, W, C] (float32). */
  image: tf.Tensor4D;
  /** [B, 2] float32: the scaled image size inside the (padded) input, per image. */
  image_shape: tf.Tensor2D;
}

/** Class names by id; null entries (and ids past the end) are unnamed. */
export type Labels = readonly (string | null)[] | null;

/** A task's inference declaration (see the module comment). */
export interface TaskInference<M> {
  /** The `kind` of the predictions `decode` returns ('classification', 'detection', ...). */
  kind: string;
  preprocessing: Preprocessing;
  /** Class names by id, or null when unknown (then `class <id>`). */
  labels: Labels;
  /** Where the labels came from, for messages ('vg_shapes class names'). */
  labelSource: string;
  /** Normalised images → named output tensors; tensor functions only (it is compiled). */
  outputs(model: M, inputs: InferenceInputs): Record<string, tf.Tensor>;
  /** One image's outputs → its prediction in the original image's frame. */
  decode(
    outputs: Record<string, HostTensor>,
    frame: ImageFrame,
    labels: Labels,
    opts: DecodeOptions,
  ): Prediction;
}

/** `labels[id]`, or `class <id>`. */
export function labelOf(labels: Labels, id: number): string {
  return labels?.[id] ?? `class ${id}`;
}

/**
 * A box of the model's input frame ([ymin, xmin, ymax, xmax], input pixels) in the original
 * image's pixels: divided by the frame's scale, as Model Garden's evaluation undoes image_info,
 * then clipped to the image (the detection generator clips only to the scaled size, which can
 * reach past the image's short side once scaled back).
 */
export function boxToOriginal(
  box: ArrayLike<number>,
  frame: ImageFrame,
): [number, number, number, number] {
  const [h, w] = frame.original;
  const [sy, sx] = frame.scale;
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [clip(box[0] / sy, h), clip(box[1] / sx, w), clip(box[2] / sy, h), clip(box[3] / sx, w)];
}
