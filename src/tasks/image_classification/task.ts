/**
 * Image classification task (Model Garden `tasks/image_classification.py`): builds the classifier,
 * the inputs, the losses (softmax cross-entropy with label smoothing, sparse or one-hot, or sigmoid
 * for multi-label; l2 weight decay) and the metrics (top-1, top-k) from its config.
 *
 * Inputs: a built-in dataset named by `tfds_name` is served from memory
 * ({@link InMemoryImageClassification}); otherwise `input_path` names TFRecord files of
 * classification tf.Examples, read by the parallel pipeline (src/data/pipeline) with Model
 * Garden's classification parser (src/data/parsers/classification_parser.ts) in worker threads.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CallArgs } from '../../core/layer.js';
import type {
  ForwardResult,
  ImageSummary,
  InitCheckpointSpec,
  InputOptions,
  InputPipeline,
  Losses,
  Metric,
  Task,
} from '../../core/task.js';
import {
  labelOf,
  type ClassificationPrediction,
  type DecodeOptions,
  type HostTensor,
  type Labels,
  type TaskInference,
} from '../../core/inference.js';
import {
  FASHION_MNIST_CLASS_NAMES,
  loadBuiltinSource,
  SHAPE_CLASS_NAMES,
} from '../../data/builtin_sources.js';
import { imagenetLabelMap } from '../../data/label_maps/imagenet.js';
import type {
  HostBatch,
  ParallelPipeline,
  PipelineState as HostPipelineState,
} from '../../data/pipeline/index.js';
import {
  classificationParserRef,
  type ClassificationParserOptions,
} from '../../data/parsers/classification_parser.js';
import { mixupAndCutmix, type MixupCutmixOptions } from '../../data/ops/mixup_cutmix.js';
import { Rng } from '../../core/random.js';
import {
  InMemoryImageClassification,
  MEAN_RGB,
  STDDEV_RGB,
  type ImageClassificationBatch,
} from '../../data/in_memory.js';
import { TopKAccuracy } from '../../evaluation/classification.js';
import { l2Regularization } from '../../losses/l2.js';
import {
  sigmoidCrossEntropy,
  softmaxCrossEntropy,
  sparseSoftmaxCrossEntropy,
} from '../../losses/classification.js';
import { buildBackbone } from '../../modeling/backbones/factory.js';
import { ClassificationModel } from '../../modeling/models/classification_model.js';
import {
  classificationDataConfig,
  type ClassificationDataConfig,
  type ImageClassificationTaskConfig,
} from './config.js';
import { defaultDataWorkers } from '../tensor_batch_input.js';

export interface ClassificationOutputs {
  /** [B, num_classes] */
  logits: tf.Tensor2D;
}

type Batch = ImageClassificationBatch;

/** Adapts a TopKAccuracy to the task metric interface. */
class AccuracyMetric implements Metric<ClassificationOutputs, Batch> {
  readonly name: string;
  constructor(private readonly acc: TopKAccuracy) {
    this.name = acc.name;
  }
  update(outputs: ClassificationOutputs, batch: Batch): Promise<void> {
    return this.acc.updateFrom(outputs.logits, batch.label);
  }
  result(): Record<string, number> {
    return this.acc.result();
  }
  reset(): void {
    this.acc.reset();
  }
}

/** Which pipeline wrote a {@link TfRecordClassificationInput} state. */
const TFRECORD_STATE_KIND = 'tfrecord_image_classification';

/**
 * Classification batches from a {@link ParallelPipeline} running the classification parser:
 * `image` [B, H, W, C] float32 and `label` [B] int32 (or [B, num_classes] float32 for
 * multi-label and after MixUp/CutMix), the keys and dtypes of the in-memory pipeline.
 *
 * With `mixup_and_cutmix` set, each batch is mixed on the host (Model Garden's postprocess_fn)
 * with a random stream derived from the seed and the global index of the batch's first example,
 * so a resumed run mixes exactly as an uninterrupted one.
 *
 * State: `{kind, epoch, consumed, index}` from the pipeline (see src/data/pipeline/types.ts).
 */
export class TfRecordClassificationInput implements InputPipeline<Batch> {
  constructor(
    private readonly pipeline: ParallelPipeline,
    private readonly seed: number,
    private readonly mixup: MixupCutmixOptions | null,
  ) {}

  async next(): Promise<Batch | null> {
    const firstIndex = this.pipeline.getState().index ?? 0;
    const hb = await this.pipeline.next();
    if (hb === null) return null;
    return this.toTensors(hb, firstIndex);
  }

  private toTensors(hb: HostBatch, firstIndex: number): Batch {
    const { image, label } = hb;
    if (!image || !label) {
      throw new Error(
        `classification batch lacks 'image' or 'label' (has ${Object.keys(hb).join(', ')})`,
      );
    }
    const [b, h, w, c] = image.shape;
    if (this.mixup) {
      if (label.shape.length !== 1) {
        throw new Error('mixup_and_cutmix needs single-label data (is_multilabel is set)');
      }
      const rng = Rng.derive(this.seed, `mixup_and_cutmix/example_${firstIndex}`);
      const mixed = mixupAndCutmix(
        { images: image.data as Float32Array, shape: [b, h, w, c], labels: label.data },
        rng,
        this.mixup,
      );
      return {
        image: tf.tensor4d(mixed.images, [b, h, w, c], 'float32'),
        label: tf.tensor2d(
          mixed.labels,
          [b, this.mixup.numClasses ?? 0],
          'float32',
        ) as unknown as tf.Tensor1D,
      };
    }
    return {
      image: tf.tensor4d(image.data as Float32Array, [b, h, w, c], 'float32'),
      label: (label.shape.length === 1
        ? tf.tensor1d(label.data as Int32Array, 'int32')
        : tf.tensor2d(
            label.data as Float32Array,
            label.shape as [number, number],
            'float32',
          )) as tf.Tensor1D,
    };
  }

  getState(): { kind: string; epoch: number; consumed: number; index?: number } {
    return { kind: TFRECORD_STATE_KIND, ...this.pipeline.getState() };
  }

  setState(state: Record<string, unknown>): void {
    if (state.kind !== TFRECORD_STATE_KIND) {
      throw new Error(
        `pipeline state kind '${String(state.kind)}' does not match '${TFRECORD_STATE_KIND}' ` +
          `(was the checkpoint written with another input, e.g. tfds_name?)`,
      );
    }
    const { epoch, consumed, index } = state;
    if (typeof epoch !== 'number' || typeof consumed !== 'number') {
      throw new Error(
        `pipeline state needs numeric epoch and consumed, got ${JSON.stringify(state)}`,
      );
    }
    const s: HostPipelineState = { epoch, consumed };
    if (typeof index === 'number') s.index = index;
    this.pipeline.setState(s);
  }

  /** Stops the pipeline's workers (asynchronously; see {@link close} to wait for it). */
  dispose(): void {
    void this.close();
  }

  close(): Promise<void> {
    return this.pipeline.close();
  }
}

/**
 * DataConfig fields the in-memory built-in datasets (`tfds_name`) do not apply: they read
 * decoded arrays, shuffle the whole set and augment with aug_rand_hflip only. Each must keep its
 * default there.
 */
const IN_MEMORY_UNUSED_FIELDS = [
  'shuffle_buffer_size',
  'aug_crop',
  'aug_type',
  'three_augment',
  'color_jitter',
  'random_erasing',
  'file_type',
  'image_field_key',
  'label_field_key',
  'decode_jpeg_only',
  'mixup_and_cutmix',
  'center_crop_fraction',
  'tf_resize_method',
] as const satisfies readonly (keyof ClassificationDataConfig)[];

function rejectUnusedInMemoryFields(key: string, dc: ClassificationDataConfig): void {
  const defaults = classificationDataConfig.parse({});
  for (const field of IN_MEMORY_UNUSED_FIELDS) {
    if (JSON.stringify(dc[field]) !== JSON.stringify(defaults[field])) {
      throw new Error(
        `task.${key}.${field}: not supported yet with tfds_name '${dc.tfds_name}' (built-in ` +
          `datasets apply only aug_rand_hflip); leave it at its default or use input_path`,
      );
    }
  }
}

/** The classification parser's options for a DataConfig, as Model Garden's build_inputs. */
export function parserOptionsFor(
  task: ImageClassificationTaskConfig,
  dc: ClassificationDataConfig,
): ClassificationParserOptions {
  const [h, w, c] = task.model.input_size;
  const gray = c === 1;
  return {
    output_size: [h, w],
    num_channels: c,
    num_classes: task.model.num_classes,
    // Model Garden reads the keys and is_multilabel from train_data for both inputs.
    image_field_key: task.train_data.image_field_key,
    label_field_key: task.train_data.label_field_key,
    is_multilabel: task.train_data.is_multilabel,
    decode_jpeg_only: dc.decode_jpeg_only,
    aug_rand_hflip: dc.aug_rand_hflip,
    aug_crop: dc.aug_crop ?? true,
    aug_type: dc.aug_type ?? null,
    color_jitter: dc.color_jitter,
    random_erasing: dc.random_erasing ?? null,
    center_crop_fraction: dc.center_crop_fraction ?? undefined,
    tf_resize_method: dc.tf_resize_method,
    three_augment: dc.three_augment,
    // Model Garden's build_inputs does not pass crop_area_range: the parser default (0.08, 1.0).
    mean: gray ? [MEAN_RGB.reduce((a, b) => a + b, 0) / 3] : [...MEAN_RGB],
    stddev: gray ? [STDDEV_RGB.reduce((a, b) => a + b, 0) / 3] : [...STDDEV_RGB],
  };
}

export class ImageClassificationTask implements Task<
  ClassificationModel,
  Batch,
  ClassificationOutputs
> {
  readonly type = 'image_classification';
  readonly defaultEvalMetric = 'accuracy';
  /** Class names of the last loaded source, for prediction output. */
  classNames: readonly string[] | null = null;

  constructor(readonly config: ImageClassificationTaskConfig) {
    const size = config.model.input_size;
    if (size.length !== 3) {
      throw new Error(
        `task.model.input_size must be [height, width, channels], got [${size.join(', ')}]`,
      );
    }
    if (!(config.model.num_classes > 0))
      throw new Error(`task.model.num_classes must be > 0, got ${config.model.num_classes}`);
  }

  buildModel(): ClassificationModel {
    const m = this.config.model;
    const model = new ClassificationModel({
      backbone: buildBackbone(m.backbone, m.norm_activation),
      numClasses: m.num_classes,
      dropoutRate: m.dropout_rate,
      addHeadBatchNorm: m.add_head_batch_norm,
      normMomentum: m.norm_activation.norm_momentum,
      normEpsilon: m.norm_activation.norm_epsilon,
      kernelInitializer: m.kernel_initializer,
    });
    // MG's ImageClassificationTask sets `model.backbone.trainable = False`: the backbone gets no
    // gradients and its batch norms run in inference mode (Keras frozen-layer semantics).
    if (this.config.freeze_backbone) model.backbone.trainable = false;
    return model;
  }

  inferenceOutputs(
    model: ClassificationModel,
    images: tf.Tensor,
    extras: Record<string, tf.Tensor>,
  ): Record<string, tf.Tensor> {
    const unused = Object.keys(extras);
    if (unused.length) {
      throw new Error(`a classification model takes images only, not ${unused.join(', ')}`);
    }
    return { logits: model.apply(images, { training: false }) };
  }

  /**
   * init_checkpoint as Model Garden's ImageClassificationTask.initialize: modules 'all' or
   * 'backbone'; the logits layer is skipped (with a note) when the checkpoint has another
   * num_classes, as fine-tuning configs expect.
   */
  initCheckpoint(): InitCheckpointSpec | null {
    const path = this.config.init_checkpoint;
    if (!path) return null;
    const raw = this.config.init_checkpoint_modules;
    const modules = (Array.isArray(raw) ? raw : [raw]).map((m) => m.trim()).filter(Boolean);
    for (const m of modules) {
      if (m !== 'all' && m !== 'backbone') {
        throw new Error(
          `task.init_checkpoint_modules: '${m}' is not a module of a classification model; use 'all' or 'backbone'`,
        );
      }
    }
    return { path, modules: modules.length ? modules : ['all'], classDependent: ['_logits'] };
  }

  dummyBatch(batchSize: number): Batch {
    const [h, w, c] = this.config.model.input_size;
    return {
      image: tf.zeros([batchSize, h, w, c]) as tf.Tensor4D,
      label: tf.zeros([batchSize], 'int32') as tf.Tensor1D,
    };
  }

  async buildInputs(
    which: 'train' | 'validation',
    opts: InputOptions,
  ): Promise<InputPipeline<Batch>> {
    const key = which === 'train' ? 'train_data' : 'validation_data';
    const dc = this.config[key];
    if (typeof dc.tfds_name !== 'string') {
      throw new Error(
        `task.${key}.tfds_name: a mapping of dataset names is not supported here; give one name`,
      );
    }
    if (!(dc.global_batch_size > 0))
      throw new Error(`task.${key}.global_batch_size must be > 0, got ${dc.global_batch_size}`);
    if (dc.is_training !== opts.training) {
      throw new Error(
        `task.${key}.is_training: ${dc.is_training} is not supported yet (the ${which} input ` +
          `runs with is_training ${opts.training})`,
      );
    }
    if (!dc.tfds_name) {
      const hasPath = Array.isArray(dc.input_path)
        ? dc.input_path.length > 0
        : typeof dc.input_path === 'string'
          ? dc.input_path !== ''
          : true;
      if (!hasPath) {
        throw new Error(
          `task.${key}: set input_path to TFRecord files of classification tf.Examples, or ` +
            `tfds_name to a built-in dataset (fashion_mnist, mnist, vg_shapes)`,
        );
      }
      return this.buildTfRecordInput(key, dc, opts);
    }
    rejectUnusedInMemoryFields(key, dc);
    const src = await loadBuiltinSource(
      dc.tfds_name,
      dc.tfds_split || (which === 'train' ? 'train' : 'test'),
      dc.tfds_data_dir,
    );
    this.classNames = src.classNames;
    const [, h, w, c] = src.shape;
    const [mh, mw, mc] = this.config.model.input_size;
    if (h !== mh || w !== mw || (c !== mc && !(c === 1 && mc === 3))) {
      throw new Error(
        `task.${key}: ${dc.tfds_name} images are ${h}x${w}x${c} but task.model.input_size is [${mh}, ${mw}, ${mc}]`,
      );
    }
    const maxLabel = src.labels.reduce((a, b) => Math.max(a, b), 0);
    const minLabel = src.labels.reduce((a, b) => Math.min(a, b), 0);
    if (minLabel < 0) throw new Error(`task.${key}: ${dc.tfds_name} has a negative label`);
    if (maxLabel >= this.config.model.num_classes) {
      throw new Error(
        `task.${key}: label ${maxLabel} found but task.model.num_classes is ${this.config.model.num_classes}`,
      );
    }
    const gray = mc === 1;
    const grayMean = MEAN_RGB.reduce((a, b) => a + b, 0) / 3;
    const grayStd = STDDEV_RGB.reduce((a, b) => a + b, 0) / 3;
    return new InMemoryImageClassification({
      images: src.images,
      shape: src.shape,
      labels: src.labels,
      batchSize: dc.global_batch_size,
      isTraining: opts.training,
      seed: dc.seed ?? opts.seed,
      shuffle: opts.training,
      repeat: opts.training,
      // As the TFRecord input and Model Garden: for both inputs (validation YAMLs set it false).
      dropRemainder: dc.drop_remainder,
      augment: { randomFlip: opts.training && dc.aug_rand_hflip },
      mean: gray ? [grayMean] : MEAN_RGB,
      stddev: gray ? [grayStd] : STDDEV_RGB,
      outputChannels: mc,
    });
  }

  /** The TFRecord input of `input_path` through the parallel pipeline (see the module comment). */
  private async buildTfRecordInput(
    key: 'train_data' | 'validation_data',
    dc: ClassificationDataConfig,
    opts: InputOptions,
  ): Promise<TfRecordClassificationInput> {
    if (dc.file_type !== 'tfrecord') {
      throw new Error(
        `task.${key}.file_type '${dc.file_type}' is not readable here (only 'tfrecord')`,
      );
    }
    const path = dc.input_path;
    if (typeof path !== 'string' && !Array.isArray(path)) {
      throw new Error(
        `task.${key}.input_path: a mapping of named inputs (data mixing) is not supported here`,
      );
    }
    const { ParallelPipeline, tfrecordSource } = await import('../../data/pipeline/index.js');
    const seed = (dc.seed ?? opts.seed) >>> 0;
    const mc = dc.mixup_and_cutmix;
    if (mc && this.config.train_data.is_multilabel) {
      throw new Error(`task.${key}.mixup_and_cutmix cannot be combined with is_multilabel`);
    }
    const pipeline = new ParallelPipeline({
      source: tfrecordSource(path),
      map: classificationParserRef(parserOptionsFor(this.config, dc)),
      training: opts.training,
      batchSize: dc.global_batch_size,
      seed,
      shuffleBufferSize: dc.shuffle_buffer_size,
      workers: await defaultDataWorkers(),
      // As Model Garden's input reader, for both inputs (MG's ImageNet YAMLs set it false for
      // validation_data so that every example is evaluated).
      dropRemainder: dc.drop_remainder,
    });
    this.classNames = null;
    return new TfRecordClassificationInput(
      pipeline,
      seed,
      mc
        ? {
            mixupAlpha: mc.mixup_alpha,
            cutmixAlpha: mc.cutmix_alpha,
            prob: mc.prob,
            switchProb: mc.switch_prob,
            labelSmoothing: mc.label_smoothing,
            numClasses: this.config.model.num_classes,
          }
        : null,
    );
  }

  forward(
    model: ClassificationModel,
    batch: Batch,
    args: CallArgs,
  ): ForwardResult<ClassificationOutputs> {
    const lc = this.config.losses;
    const logits = model.apply(batch.image, args) as tf.Tensor2D;
    const numClasses = logits.shape[1];
    let perExample: tf.Tensor1D;
    if (this.config.train_data.is_multilabel || lc.use_binary_cross_entropy) {
      const targets =
        batch.label.rank === 2 ? batch.label : tf.oneHot(tf.cast(batch.label, 'int32'), numClasses);
      perExample = sigmoidCrossEntropy(logits, targets, lc.label_smoothing);
    } else if (lc.one_hot || lc.soft_labels || batch.label.rank === 2) {
      const targets =
        batch.label.rank === 2 ? batch.label : tf.oneHot(tf.cast(batch.label, 'int32'), numClasses);
      perExample = softmaxCrossEntropy(logits, targets, lc.label_smoothing);
    } else {
      perExample = sparseSoftmaxCrossEntropy(logits, batch.label, 0);
    }
    const classification = tf.mul(tf.mean(perExample), lc.loss_weight) as tf.Scalar;
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

  buildMetrics(_training: boolean): Metric<ClassificationOutputs, Batch>[] {
    const k = this.config.evaluation.top_k;
    const metrics: Metric<ClassificationOutputs, Batch>[] = [
      new AccuracyMetric(new TopKAccuracy(1)),
    ];
    if (k > 1 && k < this.config.model.num_classes)
      metrics.push(new AccuracyMetric(new TopKAccuracy(k)));
    return metrics;
  }

  /** Up to 3 de-normalised input images when `allow_image_summary` is set (Model Garden field). */
  async summaryImages(batch: Batch): Promise<ImageSummary[]> {
    if (!this.config.allow_image_summary) return [];
    const [b, h, w, c] = batch.image.shape;
    const n = Math.min(3, b);
    const gray = c === 1;
    const mean = gray ? [MEAN_RGB.reduce((x, y) => x + y, 0) / 3] : MEAN_RGB;
    const std = gray ? [STDDEV_RGB.reduce((x, y) => x + y, 0) / 3] : STDDEV_RGB;
    const first = tf.slice(batch.image, [0, 0, 0, 0], [n, h, w, c]);
    const pixels = (await first.data()) as Float32Array;
    first.dispose();
    const out: ImageSummary[] = [];
    for (let i = 0; i < n; i++) {
      const data = new Uint8Array(h * w * c);
      for (let j = 0; j < data.length; j++) {
        const v = pixels[i * h * w * c + j] * std[j % c] + mean[j % c];
        data[j] = Math.max(0, Math.min(255, Math.round(v)));
      }
      out.push({ tag: `input_image/${i}`, data, height: h, width: w, channels: c });
    }
    return out;
  }

  /** Softmax probabilities for a batch of normalised images [B, H, W, C]. */
  predict(model: ClassificationModel, images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(model.apply(images, { training: false }) as tf.Tensor2D));
  }

  /**
   * Prediction (src/core/inference.ts): the validation parser's eval preprocessing (center crop
   * of `center_crop_fraction`, `tf_resize_method`, MEAN_RGB/STDDEV_RGB or their average for grey),
   * softmax probabilities, top-k classes named by {@link classificationLabels}.
   */
  inference(): TaskInference<ClassificationModel> {
    const cfg = this.config;
    const [h, w, c] = cfg.model.input_size;
    if (c !== 1 && c !== 3) {
      throw new Error(`task.model.input_size: prediction reads 1- or 3-channel images, got ${c}`);
    }
    const method = cfg.validation_data.tf_resize_method;
    if (method !== 'bilinear' && method !== 'nearest') {
      throw new Error(
        `task.validation_data.tf_resize_method '${method}' is not supported for prediction (bilinear, nearest)`,
      );
    }
    const avg = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const { labels, source } = classificationLabels(cfg);
    return {
      kind: 'classification',
      preprocessing: {
        input_size: [h, w, c],
        method: 'center_crop',
        center_crop_fraction: cfg.validation_data.center_crop_fraction,
        padded_size: null,
        interpolation: method,
        // As the task's in-memory pipeline normalises grey images.
        mean: c === 3 ? [...MEAN_RGB] : [avg(MEAN_RGB)],
        stddev: c === 3 ? [...STDDEV_RGB] : [avg(STDDEV_RGB)],
      },
      labels,
      labelSource: source,
      outputs: (model, inputs) => ({ probabilities: this.predict(model, inputs.image) }),
      decode: (outputs, _frame, names, opts) => decodeTopK(outputs, names, opts),
    };
  }
}

/** Names of the built-in sources (src/data/builtin_sources.ts) by tfds_name. */
const BUILTIN_CLASS_NAMES: Record<string, readonly string[]> = {
  vg_shapes: SHAPE_CLASS_NAMES,
  fashion_mnist: FASHION_MNIST_CLASS_NAMES,
  mnist: Array.from({ length: 10 }, (_, i) => String(i)),
};

/**
 * A classifier's class names: those of the built-in dataset it reads (validation_data, then
 * train_data tfds_name); else ImageNet's when it has 1000 or 1001 classes (Model Garden's layout,
 * 0 = background); else none (class ids).
 */
export function classificationLabels(task: ImageClassificationTaskConfig): {
  labels: readonly string[] | null;
  source: string;
} {
  const numClasses = task.model.num_classes;
  for (const data of [task.validation_data, task.train_data]) {
    const name = typeof data.tfds_name === 'string' ? data.tfds_name : '';
    const names = BUILTIN_CLASS_NAMES[name];
    if (names) {
      if (names.length > numClasses) {
        throw new Error(
          `task.model.num_classes is ${numClasses} but ${name} has ${names.length} classes`,
        );
      }
      return { labels: names, source: `${name} class names` };
    }
  }
  if (numClasses === 1000 || numClasses === 1001) {
    const map = imagenetLabelMap(numClasses);
    return {
      labels: Array.from({ length: numClasses }, (_, i) => map.get(i)!.name),
      source: `ImageNet (${numClasses} classes)`,
    };
  }
  return { labels: null, source: 'class ids (no label map)' };
}

/** The `topK` (default 5) classes of one example's `probabilities` output, named by `labels`. */
export function decodeTopK(
  outputs: Record<string, HostTensor>,
  labels: Labels,
  opts: DecodeOptions,
): ClassificationPrediction {
  const p = outputs.probabilities.data;
  const k = Math.min(opts.topK ?? 5, p.length);
  if (!(Number.isInteger(k) && k > 0)) {
    throw new Error(`topK must be a positive integer, got ${opts.topK}`);
  }
  return {
    kind: 'classification',
    classes: topKIndices(p, k).map((id) => ({ id, label: labelOf(labels, id), score: p[id] })),
  };
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, k);
}
