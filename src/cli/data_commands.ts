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
 *   data shapes-detection --output DIR [--num_train N] [--num_val N] [--image_size S] [--seed K]
 *                         [--min_shapes N] [--max_shapes N] [--num_shards N] [--include_masks]
 *   data video-to-tfrecord --input DIR | --csv F [--video_root D] --output PREFIX [--num_shards N]
 *                          [--label_map F] [--fps R] [--min_resize P]
 *                          (DIR/<class>/<video file or frame folder>, or DMVR's CSV
 *                          video_path,start,end,label: video SequenceExamples; files via ffmpeg)
 *   data moving-shapes --output PREFIX --num_examples N [--seed S] [--num_frames T]
 *                      [--image_size P] (generated direction x shape videos)
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
import { shapesDetectionToTfRecord } from '../data/converters/shapes_detection.js';
import { videosToTfRecord, writeVideoTfRecords } from '../data/converters/video.js';
import { generateMovingShapes } from '../data/synthetic/shapes.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
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
interface ShapesFlags {
  output: string;
  num_train: number;
  num_val: number;
  image_size: number;
  seed: number;
  min_shapes: number;
  max_shapes: number;
  num_shards: number;
  include_masks: boolean;
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

  data
    .command('shapes-detection')
    .description(
      'generated shapes scenes (several shapes, exact boxes) -> detection tf.Examples, train + val',
    )
    .requiredOption(
      '--output <dir>',
      'writes <dir>/train-*.tfrecord, <dir>/val-*.tfrecord, label map',
    )
    .option('--num_train <n>', 'training scenes', positiveInt, 2000)
    .option('--num_val <n>', 'held-out scenes', positiveInt, 200)
    .option('--image_size <n>', 'image edge in pixels', positiveInt, 256)
    .option('--seed <n>', 'seed of the data set', nonNegativeInt, 0)
    .option('--min_shapes <n>', 'fewest shapes per scene', positiveInt, 1)
    .option('--max_shapes <n>', 'most shapes per scene', positiveInt, 4)
    .option('--num_shards <n>', 'output shards per split', positiveInt, 1)
    .option('--include_masks', "write each shape's instance mask (image/object/mask)", false)
    .action(async (flags: ShapesFlags) => {
      const s = await shapesDetectionToTfRecord({
        outputDir: flags.output,
        numTrain: flags.num_train,
        numVal: flags.num_val,
        imageSize: flags.image_size,
        seed: flags.seed,
        minShapes: flags.min_shapes,
        maxShapes: flags.max_shapes,
        numShards: flags.num_shards,
        includeMasks: flags.include_masks,
      });
      const lines = [
        ...(['train', 'val'] as const).map(
          (k) =>
            `${k}: ${s.numExamples[k]} images, ${s.numObjects[k]} shapes in ${s.files[k].join(', ')}`,
        ),
        `label map: ${s.labelMapPath}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });

  data
    .command('video-to-tfrecord')
    .description(
      "video files (through ffmpeg) or frame folders -> video tf.SequenceExamples (Model Garden's video_input.py layout)",
    )
    .option('--input <dir>', 'root folder: <dir>/<class>/<video file, or folder of frame images>')
    .option('--csv <file>', 'instead of --input: DMVR CSV with header video_path,start,end,label')
    .option('--video_root <dir>', "--csv: folder of relative video paths (default: the CSV's)")
    .requiredOption('--output <prefix>', 'output prefix; label map at <prefix>.label_map.pbtxt')
    .option('--num_shards <n>', 'number of output shards', positiveInt, 1)
    .option('--label_map <file>', 'class ids from this label map instead of sorted class names')
    .option('--fps <r>', 'video files: resample to this frame rate (DMVR uses 10)', positiveNumber)
    .option(
      '--min_resize <p>',
      'video files: resize so the short side is this (DMVR uses 256)',
      positiveInt,
    )
    .action(
      async (flags: {
        input?: string;
        csv?: string;
        video_root?: string;
        output: string;
        num_shards: number;
        label_map?: string;
        fps?: number;
        min_resize?: number;
      }) => {
        const r = await videosToTfRecord({
          inputDir: flags.input,
          csv: flags.csv,
          videoRoot: flags.video_root,
          outputPrefix: flags.output,
          numShards: flags.num_shards,
          labelMap: flags.label_map,
          fps: flags.fps,
          minResize: flags.min_resize,
        });
        report({ numExamples: r.records, files: r.files, numAnnotationsSkipped: 0 }, [
          `${r.classNames.length} classes: ${r.classNames.join(', ')}`,
          `label map: ${r.labelMapPath}`,
          ...(r.skipped.length
            ? [`skipped ${r.skipped.length} file(s) that are not videos: ${r.skipped.join(', ')}`]
            : []),
        ]);
      },
    );

  data
    .command('moving-shapes')
    .description('generated moving-shapes videos (classes: direction x shape) -> SequenceExamples')
    .requiredOption('--output <prefix>', 'output prefix; label map at <prefix>.label_map.pbtxt')
    .requiredOption('--num_examples <n>', 'number of videos', positiveInt)
    .option('--seed <s>', 'seed (different seeds: independent splits)', (v) => Number(v), 0)
    .option('--num_frames <t>', 'frames per video', positiveInt, 8)
    .option('--image_size <p>', 'frame edge in pixels', positiveInt, 32)
    .option('--num_shards <n>', 'number of output shards', positiveInt, 1)
    .action(
      async (flags: {
        output: string;
        num_examples: number;
        seed: number;
        num_frames: number;
        image_size: number;
        num_shards: number;
      }) => {
        const data = generateMovingShapes({
          numExamples: flags.num_examples,
          seed: flags.seed,
          numFrames: flags.num_frames,
          imageSize: flags.image_size,
        });
        const r = await writeVideoTfRecords(flags.output, data, flags.num_shards);
        report({ numExamples: r.records, files: r.files, numAnnotationsSkipped: 0 }, [
          `${data.classNames.length} classes: ${data.classNames.join(', ')}`,
        ]);
      },
    );
}
