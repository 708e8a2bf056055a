/** Writing a vg model directory (Node only; the format is ./vg_format.ts). */
import * as fs from 'node:fs/promises';
import { fileError } from '../core/fs_errors.js';
import {
  DEFAULT_SHARD_BYTES,
  encodeVgModel,
  type VgModelJson,
  type VgModelMeta,
  type VgWeight,
} from './vg_format.js';

/**
 * Writes a vg model directory atomically: everything goes to a temporary sibling directory that
 * is renamed to `outDir` (an existing `outDir` is replaced only once the new one is complete).
 */
export async function writeVgModel(
  outDir: string,
  meta: VgModelMeta,
  weights: VgWeight[],
  shardBytes = DEFAULT_SHARD_BYTES,
): Promise<VgModelJson> {
  const { json, files } = await encodeVgModel(meta, weights, shardBytes);
  const tmp = `${outDir.replace(/\/+$/, '')}.tmp-${process.pid}`;
  const old = `${outDir.replace(/\/+$/, '')}.old-${process.pid}`;
  try {
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.mkdir(tmp, { recursive: true });
    for (const [name, bytes] of files) await writeSynced(fs, `${tmp}/${name}`, bytes);
    await writeSynced(fs, `${tmp}/model.json`, new TextEncoder().encode(JSON.stringify(json)));
    let replaced = false;
    try {
      await fs.rename(outDir, old);
      replaced = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await fs.rename(tmp, outDir);
    if (replaced) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw fileError(err, 'write the model', outDir);
  }
  return json;
}

async function writeSynced(
  fs: typeof import('node:fs/promises'),
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  const fh = await fs.open(path, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
