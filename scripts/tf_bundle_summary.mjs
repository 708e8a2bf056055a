#!/usr/bin/env node
// Our reader's side of scripts/check_tf_checkpoint.py (needs `npm run build`): prints the same
// JSON summary (name, shape, dtype, sha256 of the little-endian bytes, float64 sum) of every
// variable. With `--rewrite OUT_PREFIX` it first re-writes the checkpoint with our writer
// (every variable by object path) and summarises the copy.
//   node scripts/tf_bundle_summary.mjs PREFIX_OR_DIR [--rewrite OUT_PREFIX]
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { createHash } from 'node:crypto';
import process from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const load = (p) => import(pathToFileURL(join(root, 'dist', 'src', 'interop', 'tf', p)).href);
const { openTensorBundle } = await load('bundle_reader.js');
const { readObjectVariables, writeObjectCheckpoint } = await load('bundle_writer.js');

const [src, flag, out] = process.argv.slice(2);
if (!src || (flag && (flag !== '--rewrite' || !out))) {
  console.error('usage: tf_bundle_summary.mjs PREFIX_OR_DIR [--rewrite OUT_PREFIX]');
  process.exit(2);
}
let target = src;
if (flag) {
  const b = openTensorBundle(src);
  const { variables, saveCounter } = readObjectVariables(b);
  b.close();
  writeObjectCheckpoint(out, variables, { saveCounter });
  target = out;
}
const b = openTensorBundle(target);
const variables = b.variables().map(({ name, shape, dtype }) => {
  const t = b.read(name);
  const h = createHash('sha256');
  let sum = null;
  if (dtype === 'string') {
    for (const e of t.bytes) {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(e.length));
      h.update(len);
      h.update(e);
    }
  } else {
    // Bytes as stored: float16/bfloat16 were widened on read, so hash their narrow form.
    const v = t.values;
    if (dtype === 'float16' || dtype === 'bfloat16' || dtype === 'bool') {
      throw new Error(`${name}: ${dtype} digest not implemented here`);
    }
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    sum = 0;
    for (const x of v) sum += Number(x);
  }
  return { name, shape, dtype, sha256: h.digest('hex'), sum };
});
b.close();
console.log(JSON.stringify({ prefix: b.prefix, variables }, null, 1));
