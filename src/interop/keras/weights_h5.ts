/**
 * Reads a Keras `.weights.h5` file (`model.save_weights`) with h5wasm (HDF5 compiled to
 * WebAssembly, no native install). Keras 3 stores each layer's variables as datasets
 * `layers/<layer>/.../vars/<i>` in the order of the layer's `weights` (keras/src/saving/
 * saving_lib.py, H5IOStore); Keras 2 files keep `<layer>/<layer>/<weight name>`. Every dataset
 * is returned with its path, shape, dtype and values, sorted by path.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import h5wasm from 'h5wasm/node';
import { halfToFloat, type TensorValuesArray, type TfDtype } from '../tf/dtypes.js';

export interface H5Dataset {
  /** Path inside the file, without the leading '/' (`layers/dense/vars/0`). */
  path: string;
  shape: number[];
  dtype: TfDtype;
  values: TensorValuesArray;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5's superblock sits at 0, 512, 1024, 2048, … with its 8-byte signature. */
function hasHdf5Signature(path: string): boolean {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      if (readSync(fd, buf, 0, 8, at) === 8 && SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

interface DatasetMetadata {
  type: number;
  size: number;
  signed: boolean;
  littleEndian: boolean;
}

/** H5T classes used by h5wasm's metadata.type: 0 integer, 1 float, 3 string. */
function datasetDtype(m: DatasetMetadata, where: string): TfDtype {
  if (m.type === 1 && m.size === 4) return 'float32';
  if (m.type === 1 && m.size === 8) return 'float64';
  if (m.type === 1 && m.size === 2) return 'float16';
  if (m.type === 0) {
    const ints: Record<number, TfDtype | undefined> = m.signed
      ? { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' }
      : { 1: 'uint8' };
    const d = ints[m.size];
    if (d) return d;
  }
  if (m.type === 3) return 'string';
  throw new Error(
    `${where}: unsupported HDF5 dtype (class ${m.type}, ${m.size} bytes, ${m.signed ? 'signed' : 'unsigned'})`,
  );
}

function toValues(raw: unknown, dtype: TfDtype, where: string): TensorValuesArray {
  if (dtype === 'string') {
    const arr = Array.isArray(raw) ? raw : [raw];
    return arr.map((v) => String(v));
  }
  if (dtype === 'float16') {
    return Float32Array.from(raw as Uint16Array, (h) => halfToFloat(h));
  }
  const ok =
    (dtype === 'float32' && raw instanceof Float32Array) ||
    (dtype === 'float64' && raw instanceof Float64Array) ||
    (dtype === 'int64' && raw instanceof BigInt64Array) ||
    (dtype === 'int32' && raw instanceof Int32Array) ||
    (dtype === 'int16' && raw instanceof Int16Array) ||
    (dtype === 'int8' && raw instanceof Int8Array) ||
    (dtype === 'uint8' && raw instanceof Uint8Array);
  if (ok) return raw as TensorValuesArray;
  if (typeof raw === 'number' || typeof raw === 'bigint') {
    // A scalar dataset comes back as a plain value.
    return dtype === 'int64'
      ? BigInt64Array.of(BigInt(raw))
      : dtype === 'float64'
        ? Float64Array.of(Number(raw))
        : Float32Array.of(Number(raw));
  }
  throw new Error(`${where}: h5wasm returned ${Object.prototype.toString.call(raw)} for ${dtype}`);
}

/**
 * Lists and reads every dataset of a Keras `.weights.h5` file, sorted by path. Errors name the
 * file and the dataset.
 */
export async function readKerasWeightsH5(path: string): Promise<H5Dataset[]> {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  if (!hasHdf5Signature(path)) throw new Error(`${path}: not an HDF5 file (no HDF5 signature)`);
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'r');
  const out: H5Dataset[] = [];
  try {
    const walk = (group: InstanceType<typeof h5wasm.Group>, prefix: string) => {
      for (const name of group.keys()) {
        const child = group.get(name);
        const p = prefix ? `${prefix}/${name}` : name;
        if (child instanceof h5wasm.Group) {
          walk(child, p);
        } else if (child instanceof h5wasm.Dataset) {
          const where = `${path}: dataset '${p}'`;
          const dtype = datasetDtype(child.metadata as DatasetMetadata, where);
          const shape = [...(child.shape ?? [])].map(Number);
          const values = toValues(child.value, dtype, where);
          const count = shape.reduce((a, b) => a * b, 1);
          if (values.length !== count) {
            throw new Error(`${where}: ${values.length} values for shape [${shape.join(', ')}]`);
          }
          out.push({ path: p, shape, dtype, values });
        }
      }
    };
    walk(file, '');
  } finally {
    file.close();
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
