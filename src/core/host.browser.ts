/**
 * The browser's host (package.json `browser` maps ./host.js here): no file system (no file
 * exists; reading or creating one throws, naming it), POSIX path joins, the CPU count the
 * browser reports.
 */
import type * as NodeHost from './host.js';
import { nodeOnly } from './node_only.js';

const noFile = (path: string | URL): never =>
  nodeOnly(`reading file '${String(path)}'`, 'give a URL, bytes or an object instead');

export const readTextFileSync: typeof NodeHost.readTextFileSync = noFile;
export const readTextFile: typeof NodeHost.readTextFile = async (path) => noFile(path);
export const readFileBytes: typeof NodeHost.readFileBytes = async (path) => noFile(path);
export const fileExists: typeof NodeHost.fileExists = () => false;
export const makeDirs: typeof NodeHost.makeDirs = (path) =>
  nodeOnly(`creating directory '${path}'`);

export const joinPath: typeof NodeHost.joinPath = (...parts) =>
  parts
    .filter((p) => p !== '')
    .join('/')
    .replace(/\/+/g, '/');

export const extName: typeof NodeHost.extName = (path) => {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot) : '';
};

export const cpuCount: typeof NodeHost.cpuCount = () =>
  (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ??
  1;

export const isFile: typeof NodeHost.isFile = () => false;

/** gzip through the browser's DecompressionStream. */
export const gunzipBytes: typeof NodeHost.gunzipBytes = async (bytes) => {
  const DS = (globalThis as { DecompressionStream?: new (format: 'gzip') => TransformStream })
    .DecompressionStream;
  if (!DS) throw new Error('no DecompressionStream in this runtime: cannot gunzip');
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DS('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
};
