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

/**
 * An Error `cannot <action> '<path>': <cause> (<CODE>)` for a failed file operation, keeping
 * the original as `cause`. Errors without an errno code keep their message as the cause.
 */
export function fileError(err: unknown, action: string, path: string): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const cause =
    code !== undefined && code in CAUSES
      ? `${CAUSES[code]} (${code})`
      : ((err as Error | null)?.message ?? String(err));
  return new Error(`cannot ${action} '${path}': ${cause}`, { cause: err });
}
