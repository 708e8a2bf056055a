/**
 * File-system errors that say which file and what really went wrong. Node's own messages name a
 * syscall and, for writes through a descriptor, no path ("ENOSPC: no space left on device,
 * write"), or a temporary file instead of the target.
 */

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EEXIST: 'a file of that name already exists',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EMFILE: 'too many open files',
};

/** An error that already names its file and cause (from {@link fileError}). */
export class FileError extends Error {
  override name = 'FileError';
}

/** Whether `err` is a failed system call (it carries an errno code such as ENOSPC). */
export function isErrnoError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | null)?.code === 'string';
}

/**
 * An Error `cannot <action> '<path>': <cause> (<CODE>)` for a failed file operation, keeping
 * the original as `cause`. Errors without an errno code keep their message as the cause; an
 * error that is already a {@link FileError} is returned as it is.
 */
export function fileError(err: unknown, action: string, path: string): Error {
  if (err instanceof FileError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const cause =
    code !== undefined && code in CAUSES
      ? `${CAUSES[code]} (${code})`
      : ((err as Error | null)?.message ?? String(err));
  return new FileError(`cannot ${action} '${path}': ${cause}`, { cause: err });
}

/**
 * Refuses a Google Cloud Storage path (`gs://bucket/...`, as Model Garden's configs name their
 * data and checkpoints, read there through tf.io.gfile) with one line saying how to copy it
 * locally: vision-garden reads local files only.
 * @param what the config field or flag the path came from, e.g. `task.train_data.input_path`
 */
export function refuseCloudPath(path: string, what: string): void {
  const m = /^gs:\/\/[^\s,]*/.exec(path.trim());
  if (!m) return;
  throw new FileError(
    `${what}: '${m[0]}' is a Google Cloud Storage path and vision-garden reads local files only; ` +
      `copy it first (gcloud storage cp -r '${m[0]}' ./data/) and give the local path instead`,
  );
}
