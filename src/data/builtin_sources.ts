/**
 * Built-in in-memory image classification sources, addressed like TFDS datasets by
 * `tfds_name` + `tfds_split` in a DataConfig, so experiment YAML keeps Model Garden's fields:
 *   - `fashion_mnist` / `mnist`: IDX files (Debian `dataset-fashion-mnist`, or `tfds_data_dir`);
 *   - `vg_shapes`: rendered shapes generated from a seed (no download; the `demo` default).
 *     Splits: `train` (seed 1, 4096 images), `test` (seed 2, 1024 images); `train[:N]` style
 *     sizes are not parsed: use `vg_shapes/<N>` in tfds_split, e.g. `train/20000`.
 */
import {
  findFashionMnist,
  loadMnistLike,
  FASHION_MNIST_CLASS_NAMES,
  type MnistSplit,
} from './idx.js';
import { generateShapes, SHAPE_CLASS_NAMES } from './synthetic/shapes.js';

export interface InMemoryImages {
  /** [N, H, W, C] uint8, row-major. */
  images: Uint8Array;
  shape: [number, number, number, number];
  labels: Uint8Array;
  classNames: readonly string[];
  /** Where the data came from (for messages). */
  origin: string;
}

export const BUILTIN_SOURCES = ['fashion_mnist', 'mnist', 'vg_shapes'] as const;

const SHAPES_SPLITS: Record<string, { seed: number; size: number }> = {
  train: { seed: 1, size: 4096 },
  test: { seed: 2, size: 1024 },
  validation: { seed: 2, size: 1024 },
};

function mnistSplit(name: string, split: string): MnistSplit {
  if (split === 'train' || split === 'test') return split;
  throw new Error(`${name}: tfds_split must be 'train' or 'test', got '${split}'`);
}

/** Loads a built-in source. `dataDir` overrides where IDX files are looked for. */
export async function loadBuiltinSource(
  name: string,
  split: string,
  dataDir = '',
): Promise<InMemoryImages> {
  switch (name) {
    case 'fashion_mnist':
    case 'mnist': {
      const dir = dataDir || (name === 'fashion_mnist' ? findFashionMnist() : null);
      if (!dir) {
        throw new Error(
          name === 'fashion_mnist'
            ? 'fashion_mnist: IDX files not found; install them with `apt-get install dataset-fashion-mnist` ' +
                'or set tfds_data_dir to a folder holding train-images-idx3-ubyte(.gz) etc.'
            : 'mnist: set tfds_data_dir to a folder holding the MNIST IDX files',
        );
      }
      const s = await loadMnistLike(dir, mnistSplit(name, split));
      const [n, h, w] = s.shape;
      return {
        images: s.images,
        shape: [n, h, w, 1],
        labels: s.labels,
        classNames:
          name === 'fashion_mnist'
            ? FASHION_MNIST_CLASS_NAMES
            : Array.from({ length: 10 }, (_, i) => String(i)),
        origin: `${dir} (${split})`,
      };
    }
    case 'vg_shapes': {
      const [base, sizeText] = split.split('/');
      const spec = SHAPES_SPLITS[base];
      if (!spec)
        throw new Error(
          `vg_shapes: tfds_split must be one of ${Object.keys(SHAPES_SPLITS).join(', ')}, got '${split}'`,
        );
      const size = sizeText ? Number(sizeText) : spec.size;
      if (!Number.isInteger(size) || size <= 0)
        throw new Error(`vg_shapes: bad split size '${sizeText}' in '${split}'`);
      const d = generateShapes({ numExamples: size, seed: spec.seed });
      return {
        images: d.images,
        shape: d.shape,
        labels: d.labels,
        classNames: d.classNames,
        origin: `generated shapes (seed ${spec.seed})`,
      };
    }
    default:
      throw new Error(
        `unknown built-in dataset tfds_name '${name}'; built-in: ${BUILTIN_SOURCES.join(', ')}`,
      );
  }
}

export { SHAPE_CLASS_NAMES, FASHION_MNIST_CLASS_NAMES };
