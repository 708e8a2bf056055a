/**
 * `vision-garden data ...`: dataset builders writing sharded TFRecords.
 *
 *   data coco-to-tfrecord --annotations instances.json --images DIR --output PREFIX
 *                         [--num_shards N] [--include_masks] [--allow_outside_images]
 *   data folder-to-tfrecord --input DIR --output PREFIX [--num_shards N]
 *   data idx-to-tfrecord --images F --labels F --output PREFIX [--num_shards N]
 *                        [--class_names a,b,...]
 *   data segmentation-to-tfrecord --layout voc|cityscapes --root DIR [--split S] --output PREFIX
 *   data segmentation-to-tfrecord --layout coco --annotations F --images DIR --output PREFIX
 *   data segmentation-to-tfrecord --layout shapes --num_examples N [--image_size S] [--seed K]
 *                                 --output PREFIX
 *
 * Output files are `<PREFIX>-%05d-of-%05d.tfrecord` (Model Garden's naming), example i in shard
 * i % N.
 */
import { Command, InvalidArgumentError } from 'commander';
import { cocoToTfRecord } from '../data/converters/coco.js';
import type { ConversionSummary } from '../data/converters/common.js';
import { folderToTfRecord } from '../data/converters/folder.js';
import { idxToTfRecord } from '../data/converters/idx.js';
import {
  segmentationToTfRecord,
  type SegmentationLayout,
} from '../data/converters/segmentation.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a non-negative integer, got '${value}'`);
  }
  return n;
}

function report(summary: ConversionSummary, extra: string[] = []): void {
  const lines = [
    `wrote ${summary.numExamples} examples to ${summary.files.length} shard(s):`,
    ...summary.files.map((f) => `  ${f}`),
    ...extra,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

interface CocoFlags {
  annotations: string;
  images: string;
  output: string;
  num_shards: number;
  include_masks?: boolean;
  allow_outside_images?: boolean;
}
interface FolderFlags {
  input: string;
  output: string;
  num_shards: number;
}
interface SegmentationFlags {
  layout: SegmentationLayout;
  root?: string;
  split: string;
  annotations?: string;
  images?: string;
  num_examples?: number;
  image_size: number;
  seed: number;
  output: string;
  num_shards: number;
}
interface IdxFlags {
  images: string;
  labels: string;
  output: string;
  num_shards: number;
  class_names?: string;
}

/** Adds the `data` command group to `program`. */
export function registerDataCommands(program: Command): void {
  const data = program
    .command('data')
    .description('build sharded TFRecord datasets from COCO JSON, image folders or IDX files');

  data
    .command('coco-to-tfrecord')
    .description('COCO instances JSON + images -> tf.Examples in the Model Garden detection layout')
    .requiredOption('--annotations <file>', 'COCO instances JSON (e.g. instances_train2017.json)')
    .requiredOption('--images <dir>', 'folder holding the images named in the JSON')
    .requiredOption('--output <prefix>', 'output prefix: <prefix>-00000-of-000NN.tfrecord, ...')
    .option('--include_masks', 'rasterise segmentations into PNG instance masks', false)
    .option(
      '--allow_outside_images',
      "read file_names that lead outside --images ('..' or absolute paths)",
      false,
    )
    .option('--num_shards <n>', 'number of output shards (at most one per image)', positiveInt, 32)
    .action(async (flags: CocoFlags) => {
      const summary = await cocoToTfRecord({
        annotationsPath: flags.annotations,
        imagesDir: flags.images,
        outputPrefix: flags.output,
        numShards: flags.num_shards,
        includeMasks: flags.include_masks ?? false,
        allowOutsideImages: flags.allow_outside_images ?? false,
      });
      report(summary, [`skipped ${summary.numAnnotationsSkipped} invalid annotation(s)`]);
    });

  data
    .command('folder-to-tfrecord')
    .description('an image folder with one sub-folder per class -> classification tf.Examples')
    .requiredOption('--input <dir>', 'root folder: <dir>/<class>/<image>')
    .requiredOption(
      '--output <prefix>',
      'output prefix; the label map goes to <prefix>.label_map.pbtxt',
    )
    .option('--num_shards <n>', 'number of output shards', positiveInt, 1)
    .action(async (flags: FolderFlags) => {
      const summary = await folderToTfRecord({
        inputDir: flags.input,
        outputPrefix: flags.output,
        numShards: flags.num_shards,
      });
      report(summary, [
        `${summary.classNames.length} classes: ${summary.classNames.join(', ')}`,
        `label map: ${summary.labelMapPath}`,
      ]);
    });

  data
    .command('idx-to-tfrecord')
    .description('MNIST / Fashion-MNIST IDX images + labels -> PNG classification tf.Examples')
    .requiredOption('--images <file>', 'IDX images file (uint8 [N, H, W]; .gz accepted)')
    .requiredOption('--labels <file>', 'IDX labels file ([N]; .gz accepted)')
    .requiredOption('--output <prefix>', 'output prefix')
    .option('--num_shards <n>', 'number of output shards', positiveInt, 1)
    .option('--class_names <names>', 'comma-separated class names by label (writes a label map)')
    .action(async (flags: IdxFlags) => {
      const classNames = flags.class_names?.split(',').map((s) => s.trim());
      const summary = await idxToTfRecord({
        imagesPath: flags.images,
        labelsPath: flags.labels,
        outputPrefix: flags.output,
        numShards: flags.num_shards,
        classNames,
      });
      report(summary, summary.labelMapPath ? [`label map: ${summary.labelMapPath}`] : []);
    });

  data
    .command('segmentation-to-tfrecord')
    .description(
      'images + PNG label maps (VOC, Cityscapes) or COCO instance masks -> semantic segmentation tf.Examples',
    )
    .requiredOption('--layout <layout>', 'voc, cityscapes, coco or shapes', (v: string) => {
      if (v !== 'voc' && v !== 'cityscapes' && v !== 'coco' && v !== 'shapes') {
        throw new InvalidArgumentError(`expected voc, cityscapes, coco or shapes, got '${v}'`);
      }
      return v;
    })
    .option('--root <dir>', 'voc / cityscapes: the dataset root folder')
    .option(
      '--split <name>',
      'voc: ImageSets/Segmentation/<name>.txt; cityscapes: split folder',
      'train',
    )
    .option('--annotations <file>', 'coco: instances JSON')
    .option('--images <dir>', 'coco: folder holding the images named in the JSON')
    .option('--num_examples <n>', 'shapes: number of generated images', positiveInt)
    .option('--image_size <n>', 'shapes: image edge in pixels', positiveInt, 32)
    .option('--seed <n>', 'shapes: data set seed (another seed, another split)', nonNegativeInt, 0)
    .requiredOption('--output <prefix>', 'output prefix: <prefix>-00000-of-000NN.tfrecord, ...')
    .option('--num_shards <n>', 'number of output shards (at most one per image)', positiveInt, 1)
    .action(async (flags: SegmentationFlags) => {
      const summary = await segmentationToTfRecord({
        layout: flags.layout,
        root: flags.root,
        split: flags.split,
        annotationsPath: flags.annotations,
        imagesDir: flags.images,
        numExamples: flags.num_examples,
        imageSize: flags.image_size,
        seed: flags.seed,
        outputPrefix: flags.output,
        numShards: flags.num_shards,
      });
      report(summary, summary.labelMapPath ? [`label map: ${summary.labelMapPath}`] : []);
    });
}
