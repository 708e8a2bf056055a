/**
 * The vg model format: a directory (or URL prefix) holding
 *
 *   model.json        format name and version, task type, experiment, the resolved config, the
 *                     preprocessing and labels (src/core/inference.ts), and `weightsManifest`;
 *   group1-shardKofN.bin  the weights, little-endian, concatenated in manifest order.
 *
 * `weightsManifest` is tfjs's layout (`[{paths, weights: [{name, shape, dtype}]}]`), each group
 * with `sha256` (one hex digest per path) added; readers check every shard's size and digest
 * before using it. docs/formats.md describes the format. Writing is Node-only (./vg_write.ts);
 * reading a path goes through ../core/host.ts (the browser reads URLs).
 */

import { fileError } from '../core/fs_errors.js';
import { joinPath, readFileBytes } from '../core/host.js';
import type { Labels } from '../core/inference.js';

export const VG_FORMAT = 'vision-garden-model';
export const VG_FORMAT_VERSION = 1;
/** Default shard size (tfjs's converters use 4 MiB). */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export type VgDType = 'float32' | 'int32';

export interface VgWeightSpec {
  name: string;
  shape: number[];
  dtype: VgDType;
}

export interface VgWeightGroup {
  paths: string[];
  weights: VgWeightSpec[];
  /** Hex SHA-256 of each file of `paths`. */
  sha256: string[];
}

/** model.json. */
export interface VgModelJson {
  format: typeof VG_FORMAT;
  format_version: number;
  generated_by: string;
  task_type: string;
  experiment: string | null;
  config: object;
  preprocessing: object;
  labels: Labels;
  label_source: string;
  weightsManifest: VgWeightGroup[];
}

export interface VgWeight {
  name: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

export type VgModelMeta = Omit<VgModelJson, 'format' | 'format_version' | 'weightsManifest'>;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function dtypeOf(data: Float32Array | Int32Array): VgDType {
  return data instanceof Float32Array ? 'float32' : 'int32';
}

/** Weights as model.json and shard files (name → bytes), in memory. */
export async function encodeVgModel(
  meta: VgModelMeta,
  weights: VgWeight[],
  shardBytes = DEFAULT_SHARD_BYTES,
): Promise<{ json: VgModelJson; files: Map<string, Uint8Array> }> {
  const names = new Set<string>();
  let total = 0;
  for (const w of weights) {
    if (names.has(w.name)) throw new Error(`vg format: weight '${w.name}' is given twice`);
    names.add(w.name);
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (n !== w.data.length) {
      throw new Error(`vg format: weight '${w.name}' has ${w.data.length} values for [${w.shape}]`);
    }
    total += w.data.byteLength;
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const w of weights) {
    all.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at);
    at += w.data.byteLength;
  }
  const count = Math.max(1, Math.ceil(total / shardBytes));
  const files = new Map<string, Uint8Array>();
  const paths: string[] = [];
  const sha256: string[] = [];
  for (let k = 0; k < count; k++) {
    const name = `group1-shard${k + 1}of${count}.bin`;
    const bytes = all.subarray(k * shardBytes, Math.min(total, (k + 1) * shardBytes));
    files.set(name, bytes);
    paths.push(name);
    sha256.push(await sha256Hex(bytes));
  }
  const json: VgModelJson = {
    format: VG_FORMAT,
    format_version: VG_FORMAT_VERSION,
    ...meta,
    weightsManifest: [
      {
        paths,
        weights: weights.map((w) => ({
          name: w.name,
          shape: [...w.shape],
          dtype: dtypeOf(w.data),
        })),
        sha256,
      },
    ],
  };
  return { json, files };
}

function isUrl(source: string): boolean {
  return /^(https?|file|blob|data):/i.test(source);
}

/** Reads one file of a model directory or URL prefix. */
async function readPart(source: string, name: string): Promise<Uint8Array> {
  if (isUrl(source)) {
    const url = new URL(name, source.endsWith('/') ? source : `${source}/`);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`model ${source}: cannot fetch '${name}' (HTTP ${res.status})`);
    return new Uint8Array(await res.arrayBuffer());
  }
  try {
    return await readFileBytes(joinPath(source, name));
  } catch (err) {
    throw fileError(err, `read model file '${name}' of`, source);
  }
}

/** model.json of a vg model, checked for format and version. */
export async function readVgModelJson(source: string): Promise<VgModelJson> {
  const bytes = await readPart(source, 'model.json');
  let json: VgModelJson;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as VgModelJson;
  } catch (err) {
    throw new Error(`model ${source}: model.json is not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (json?.format !== VG_FORMAT) {
    throw new Error(
      `model ${source}: model.json is not a ${VG_FORMAT} file (format '${json?.format}')`,
    );
  }
  if (json.format_version !== VG_FORMAT_VERSION) {
    throw new Error(
      `model ${source}: format_version ${json.format_version} is not supported (this version reads ${VG_FORMAT_VERSION})`,
    );
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new Error(`model ${source}: model.json has no weightsManifest`);
  }
  return json;
}

/**
 * Reads a vg model's weights, checking each shard's SHA-256 and the manifest's byte count.
 * @throws one line naming the model and the shard that does not match
 */
export async function readVgWeights(source: string, json: VgModelJson): Promise<VgWeight[]> {
  const out: VgWeight[] = [];
  for (const group of json.weightsManifest) {
    if (!Array.isArray(group.sha256) || group.sha256.length !== group.paths.length) {
      throw new Error(`model ${source}: weightsManifest group lacks one sha256 per path`);
    }
    const parts: Uint8Array[] = [];
    for (const [i, name] of group.paths.entries()) {
      const bytes = await readPart(source, name);
      const digest = await sha256Hex(bytes);
      if (digest !== group.sha256[i]) {
        throw new Error(
          `model ${source}: weight shard '${name}' is corrupt (sha256 ${digest}, model.json says ${group.sha256[i]})`,
        );
      }
      parts.push(bytes);
    }
    const total = parts.reduce((a, p) => a + p.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (w.dtype !== 'float32' && w.dtype !== 'int32') {
        throw new Error(`model ${source}: weight '${w.name}' has unsupported dtype '${w.dtype}'`);
      }
      if (offset + 4 * n > total) {
        throw new Error(`model ${source}: the shards end before weight '${w.name}'`);
      }
      const slice = all.slice(offset, offset + 4 * n).buffer;
      out.push({
        name: w.name,
        shape: w.shape,
        data: w.dtype === 'float32' ? new Float32Array(slice) : new Int32Array(slice),
      });
      offset += 4 * n;
    }
    if (offset !== total) {
      throw new Error(
        `model ${source}: the shards hold ${total - offset} bytes beyond the manifest`,
      );
    }
  }
  return out;
}
