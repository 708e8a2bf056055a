/**
 * Resolves a TFRecord source to an ordered list of files.
 *
 * A source is a path, a comma-separated list, an array, and each element may be
 *   - a glob whose file-name part uses `*` (any run of characters) and `?` (one character),
 *     e.g. `data/train-*-of-00016`; matches are returned in sorted order;
 *   - a sharded spec `prefix@N`, meaning `prefix-00000-of-0000N` ... (TensorFlow's sharded
 *     file names: shard index and count zero-padded to 5 digits), unless a file of that literal
 *     name exists.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { refuseCloudPath } from '../../core/fs_errors.js';
import { TFRecordSourceError } from './errors.js';

export type TFRecordSource = string | readonly string[];

/** `prefix-00000-of-0000N` ... `prefix-0000{N-1}-of-0000N`. */
export function shardedFileNames(prefix: string, numShards: number): string[] {
  if (!Number.isInteger(numShards) || numShards < 1) {
    throw new TFRecordSourceError(
      `sharded spec '${prefix}@${numShards}': shard count must be a positive integer`,
    );
  }
  const total = String(numShards).padStart(5, '0');
  return Array.from(
    { length: numShards },
    (_, i) => `${prefix}-${String(i).padStart(5, '0')}-of-${total}`,
  );
}

/** Whether `name` matches a glob of `*` and `?` (no other special characters). */
export function matchesGlob(name: string, pattern: string): boolean {
  const re = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`, 's').test(name);
}

function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function expandGlob(pattern: string): Promise<string[]> {
  const dir = dirname(pattern);
  const namePattern = basename(pattern);
  if (hasWildcard(dir)) {
    throw new TFRecordSourceError(
      `file pattern '${pattern}': wildcards are supported only in the file-name part, not in '${dir}'`,
    );
  }
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new TFRecordSourceError(
      `file pattern '${pattern}': cannot list directory '${dir}' (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  const matches: string[] = [];
  for (const name of entries.filter((n) => matchesGlob(n, namePattern)).sort()) {
    const path = join(dir, name);
    if (await isFile(path)) matches.push(path);
  }
  if (matches.length === 0)
    throw new TFRecordSourceError(`file pattern '${pattern}' matched no files`);
  return matches;
}

async function expandOne(spec: string): Promise<string[]> {
  const sharded = /^(.+)@(\d+)$/.exec(spec);
  if (sharded && !(await isFile(spec))) {
    const plain = shardedFileNames(sharded[1], Number(sharded[2]));
    // Model Garden's tfrecord_lib names shards `prefix-00000-of-00016.tfrecord`; accept both.
    const suffixed = plain.map((f) => `${f}.tfrecord`);
    const files = (await isFile(plain[0])) || !(await isFile(suffixed[0])) ? plain : suffixed;
    for (const f of files) {
      if (!(await isFile(f)))
        throw new TFRecordSourceError(`sharded spec '${spec}': shard file not found: ${f}`);
    }
    return files;
  }
  if (hasWildcard(basename(spec))) return expandGlob(spec);
  if (!(await isFile(spec))) throw new TFRecordSourceError(`TFRecord file not found: ${spec}`);
  return [spec];
}

/**
 * Expands a source into existing files, in the order given (globs sorted within themselves).
 * Throws {@link TFRecordSourceError} naming the missing file or the pattern that matched nothing.
 */
export async function resolveFilePattern(source: TFRecordSource): Promise<string[]> {
  const specs = (typeof source === 'string' ? source.split(',') : [...source])
    .map((s) => s.trim())
    .filter((s) => s);
  if (specs.length === 0)
    throw new TFRecordSourceError(`empty TFRecord source: ${JSON.stringify(source)}`);
  for (const spec of specs) refuseCloudPath(spec, 'input_path');
  const files: string[] = [];
  for (const spec of specs) files.push(...(await expandOne(spec)));
  return files;
}
