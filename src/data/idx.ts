/**
 * Reader for the IDX format of MNIST and Fashion-MNIST.
 *
 * Layout of an IDX file (all integers big-endian):
 *   bytes 0-1  zero
 *   byte  2    element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   byte  3    number of dimensions d
 *   then d uint32 dimension sizes, then the elements in row-major order.
 * Files may be gzip-compressed (first bytes 1f 8b); this is detected from the content, not the name.
 */
import { gunzipBytes, isFile, joinPath, readFileBytes } from '../core/host.js';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxTypedArray =
  Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX array: elements in row-major order, in native byte order. */
export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxTypedArray;
}

interface DtypeInfo {
  dtype: IdxDtype;
  bytes: number;
}

/** IDX element type codes (byte 2 of the header). */
export const IDX_TYPE_CODES: Readonly<Record<number, DtypeInfo>> = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
};

/** Thrown for a malformed or unexpected IDX file; the message names the file. */
export class IdxFormatError extends Error {
  override name = 'IdxFormatError';
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** True when `bytes` starts with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decodes uncompressed IDX bytes.
 * @param bytes the whole file content (already gunzipped)
 * @param source file name used in error messages
 */
export function parseIdx(bytes: Uint8Array, source = '<buffer>'): IdxArray {
  if (bytes.length < 4) {
    throw new IdxFormatError(
      `${source}: truncated IDX header: expected at least 4 bytes, got ${bytes.length}`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxFormatError(
      `${source}: bad IDX magic: first two bytes must be 0x00 0x00, got ` +
        `${hex(bytes[0])} ${hex(bytes[1])} (not an IDX file)`,
    );
  }
  const info = IDX_TYPE_CODES[bytes[2]];
  if (!info) {
    throw new IdxFormatError(
      `${source}: unknown IDX element type code ${hex(bytes[2])} ` +
        `(known: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64)`,
    );
  }
  const ndims = bytes[3];
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new IdxFormatError(
      `${source}: truncated IDX header: expected ${headerBytes} bytes for ${ndims} dimensions, ` +
        `got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * info.bytes;
  if (bytes.length < expected) {
    throw new IdxFormatError(
      `${source}: truncated IDX data for ${info.dtype} [${shape.join(', ')}]: ` +
        `expected ${expected} bytes, got ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new IdxFormatError(
      `${source}: ${bytes.length - expected} unexpected trailing bytes after IDX data for ` +
        `${info.dtype} [${shape.join(', ')}]: expected ${expected} bytes, got ${bytes.length}`,
    );
  }
  return { dtype: info.dtype, shape, data: decodeElements(view, headerBytes, count, info.dtype) };
}

/** Reads `count` big-endian elements starting at `offset` into a native typed array. */
function decodeElements(
  view: DataView,
  offset: number,
  count: number,
  dtype: IdxDtype,
): IdxTypedArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer, view.byteOffset + offset, count).slice();
    case 'int8':
      return new Int8Array(view.buffer, view.byteOffset + offset, count).slice();
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/**
 * Reads an IDX file, plain or gzip-compressed.
 * @throws IdxFormatError naming the file for bad magic, unknown type, truncation or corrupt gzip
 */
export async function readIdxFile(path: string): Promise<IdxArray> {
  let bytes: Uint8Array = await readFileBytes(path);
  if (isGzip(bytes)) {
    try {
      bytes = await gunzipBytes(bytes);
    } catch (err) {
      throw new IdxFormatError(
        `${path}: corrupt gzip stream (${(err as Error).message}); re-download the file`,
      );
    }
  }
  return parseIdx(bytes, path);
}

export type MnistSplit = 'train' | 'test';

/** One split of an MNIST-like dataset: uint8 grayscale images and uint8 labels. */
export interface MnistLikeSplit {
  /** Row-major [N, H, W] uint8 pixels, 0 = background. */
  images: Uint8Array;
  /** [N] class indices. */
  labels: Uint8Array;
  /** [N, H, W]. */
  shape: [number, number, number];
  /** The files read. */
  files: { images: string; labels: string };
}

/** The file-name stem of each split: MNIST names its test split `t10k`. */
const SPLIT_PREFIX: Record<MnistSplit, string> = { train: 'train', test: 't10k' };

/**
 * Finds `<prefix>-<kind>-idx<d>-ubyte` in `dir`, also accepting the `.gz` suffix and the
 * `<prefix>-<kind>.idx<d>-ubyte` spelling some mirrors use. Returns null when none exists.
 */
function findIdxFile(dir: string, prefix: string, kind: string, ndims: number): string | null {
  const stems = [`${prefix}-${kind}-idx${ndims}-ubyte`, `${prefix}-${kind}.idx${ndims}-ubyte`];
  for (const stem of stems) {
    for (const name of [stem, `${stem}.gz`]) {
      const p = joinPath(dir, name);
      if (isFile(p)) return p;
    }
  }
  return null;
}

/**
 * Loads one split of an MNIST-like dataset (MNIST, Fashion-MNIST, KMNIST) from `dir`, which holds
 * `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
 * `t10k-labels-idx1-ubyte`, each optionally gzip-compressed (`.gz`).
 * @throws Error when a file is missing; IdxFormatError when a file is malformed, images are not a
 *   uint8 [N, H, W] array, labels are not uint8 [N], or the counts differ
 */
export async function loadMnistLike(dir: string, split: MnistSplit): Promise<MnistLikeSplit> {
  if (split !== 'train' && split !== 'test') {
    throw new Error(`loadMnistLike: split must be 'train' or 'test', got '${String(split)}'`);
  }
  const prefix = SPLIT_PREFIX[split];
  const imagesPath = findIdxFile(dir, prefix, 'images', 3);
  const labelsPath = findIdxFile(dir, prefix, 'labels', 1);
  if (!imagesPath || !labelsPath) {
    const missing = [
      imagesPath ? null : `${prefix}-images-idx3-ubyte[.gz]`,
      labelsPath ? null : `${prefix}-labels-idx1-ubyte[.gz]`,
    ].filter((x) => x !== null);
    throw new Error(`${dir}: missing ${missing.join(' and ')} for the '${split}' split`);
  }
  const [images, labels] = await Promise.all([readIdxFile(imagesPath), readIdxFile(labelsPath)]);
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new IdxFormatError(
      `${imagesPath}: expected uint8 images of shape [N, H, W], got ${images.dtype} ` +
        `[${images.shape.join(', ')}]`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new IdxFormatError(
      `${labelsPath}: expected uint8 labels of shape [N], got ${labels.dtype} ` +
        `[${labels.shape.join(', ')}]`,
    );
  }
  if (labels.shape[0] !== images.shape[0]) {
    throw new IdxFormatError(
      `${labelsPath}: label count ${labels.shape[0]} does not match image count ` +
        `${images.shape[0]} in ${imagesPath}`,
    );
  }
  const [n, h, w] = images.shape;
  return {
    images: images.data as Uint8Array,
    labels: labels.data as Uint8Array,
    shape: [n, h, w],
    files: { images: imagesPath, labels: labelsPath },
  };
}

/** Fashion-MNIST class names by label (the dataset's README). */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Where the Debian package `dataset-fashion-mnist` installs the gzip IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Directories searched by {@link findFashionMnist}: `$VG_FASHION_MNIST_DIR`, then the Debian path. */
export function defaultFashionMnistDirs(): string[] {
  const dirs: string[] = [];
  const fromEnv = process.env.VG_FASHION_MNIST_DIR;
  if (fromEnv) dirs.push(fromEnv);
  dirs.push(DEBIAN_FASHION_MNIST_DIR);
  return dirs;
}

/** The first of `candidates` holding both Fashion-MNIST splits, or null. */
export function findFashionMnist(candidates: string[] = defaultFashionMnistDirs()): string | null {
  for (const dir of candidates) {
    const complete = (['train', 'test'] as const).every((split) => {
      const prefix = SPLIT_PREFIX[split];
      return findIdxFile(dir, prefix, 'images', 3) && findIdxFile(dir, prefix, 'labels', 1);
    });
    if (complete) return dir;
  }
  return null;
}

/** Like {@link findFashionMnist}, but throws an error saying how to install the data set. */
export function requireFashionMnist(candidates: string[] = defaultFashionMnistDirs()): string {
  const dir = findFashionMnist(candidates);
  if (dir === null) {
    throw new Error(
      `Fashion-MNIST not found (looked in: ${candidates.join(', ')}). Install it with ` +
        '`apt-get install dataset-fashion-mnist`, or set VG_FASHION_MNIST_DIR to a directory ' +
        'holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, ' +
        't10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.',
    );
  }
  return dir;
}

/** Loads a Fashion-MNIST split from the first directory that has it (see {@link requireFashionMnist}). */
export async function loadFashionMnist(
  split: MnistSplit,
  candidates: string[] = defaultFashionMnistDirs(),
): Promise<MnistLikeSplit> {
  return loadMnistLike(requireFashionMnist(candidates), split);
}
