/**
 * Atomic file writes: a reader sees either the old file or the complete new one (checkpoints,
 * `.npy`/`.npz` arrays, converted checkpoints).
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

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

/**
 * Writes a file atomically: `write(fh)` fills `<path>.tmp-<pid>`, which is fsynced, renamed over
 * `path`, and the directory fsynced. On failure the temporary file is removed.
 */
export async function atomicWriteFile(
  path: string,
  write: (fh: FileHandle) => Promise<void>,
): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    try {
      await write(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDirectory(dirname(path));
}

/** Writes `bytes` to `path` atomically (see {@link atomicWriteFile}). */
export function atomicWriteBytes(path: string, bytes: Uint8Array): Promise<void> {
  return atomicWriteFile(path, async (fh) => {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
  });
}
