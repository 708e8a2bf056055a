/**
 * The host's file system, paths and CPU count, for modules that the browser build reaches but
 * that read files only on some paths (config files, label maps, vg models by path, COCO JSON).
 * Node's implementation; package.json `browser` maps this module to ./host.browser.ts, where no
 * file exists and reading one throws.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/** A file's text (UTF-8). */
export function readTextFileSync(path: string): string {
  return readFileSync(path, 'utf8');
}

/** A file's text (UTF-8). */
export async function readTextFile(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** A file's bytes. */
export async function readFileBytes(path: string | URL): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

export function fileExists(path: string): boolean {
  return existsSync(path);
}

/** Creates a directory and its parents. */
export function makeDirs(path: string): void {
  mkdirSync(path, { recursive: true });
}

export function joinPath(...parts: string[]): string {
  return join(...parts);
}

export function extName(path: string): string {
  return extname(path);
}

/** Logical CPUs of this machine. */
export function cpuCount(): number {
  return availableParallelism();
}

/** Whether `path` is an existing regular file. */
export function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** Decompresses a gzip stream. */
export async function gunzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await gunzipAsync(bytes));
}
