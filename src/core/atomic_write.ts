/**
 * Atomic file writes, the one implementation every layer uses: the content goes to
 * `<path>.tmp-<pid>`, is fsynced and renamed over `path` (then, for the async form, the directory
 * is fsynced), so a reader sees either the old file or the complete new one. On failure the
 * temporary file is removed and `path` is left as it was.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileError, isErrnoError } from './fs_errors.js';

/** Matches the suffix of the temporary file written for a path: `.tmp-<pid>` (group 1: pid). */
export const TEMP_SUFFIX = /\.tmp-(\d+)$/;

/** The temporary file an atomic write of `path` fills before the rename. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/**
 * Points of an async atomic write a hook is told about: `synced` (temporary file written and
 * fsynced, not yet renamed), `renamed` (renamed over its target, directory not yet fsynced),
 * `done` (complete).
 */
export type AtomicWritePhase = 'synced' | 'renamed' | 'done';

/** Called (and awaited) at each {@link AtomicWritePhase}; used by the checkpoint fault injection. */
export type AtomicWriteHook = (phase: AtomicWritePhase) => Promise<void>;

async function fsyncDirectory(dir: string): Promise<void> {
  let dh: FileHandle | undefined;
  try {
    dh = await open(dir, 'r');
    await dh.sync();
  } catch (err) {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err;
  } finally {
    await dh?.close();
  }
}

/** A failed system call as one error naming `path` and the real cause (ENOSPC, EROFS, …). */
function named(err: unknown, path: string): unknown {
  return isErrnoError(err) ? fileError(err, 'write', path) : err;
}

/**
 * Fills the temporary file through `write(fh)`, renames it to `path`, fsyncs the directory.
 * A failed system call is thrown as one error naming `path` and its cause.
 */
export async function writeFileAtomic(
  path: string,
  write: (fh: FileHandle) => Promise<void>,
  onPhase?: AtomicWriteHook,
): Promise<void> {
  try {
    await writeFileAtomicUnnamed(path, write, onPhase);
  } catch (err) {
    throw named(err, path);
  }
}

async function writeFileAtomicUnnamed(
  path: string,
  write: (fh: FileHandle) => Promise<void>,
  onPhase?: AtomicWriteHook,
): Promise<void> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'w');
  try {
    try {
      await write(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await onPhase?.('synced');
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await onPhase?.('renamed');
  await fsyncDirectory(dirname(path));
  await onPhase?.('done');
}

/** Fills the temporary file through `write(fd)`, then renames it to `path` (errors as above). */
export function writeFileAtomicSync(path: string, write: (fd: number) => void): void {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      write(fd);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The temporary file could not be made (e.g. its folder is a file): nothing to remove.
    }
    throw named(err, path);
  }
}

/** Writes all of `data` at the file's current position. */
export function writeAllSync(fd: number, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
