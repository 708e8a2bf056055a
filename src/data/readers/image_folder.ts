/**
 * Image folders with one sub-folder per class:
 *
 *   dir/cat/001.jpg, dir/cat/002.png, dir/dog/a.jpg, ...
 *
 * Classes are the sub-folder names in sorted (code-point) order with labels 0, 1, ... (as Keras
 * `image_dataset_from_directory` and TFDS `ImageFolder` number them); files are taken in sorted
 * order within each class. Image files are recognised by extension (.jpg, .jpeg, .png, .gif,
 * .bmp, .webp, any case); hidden entries (starting with '.') are ignored.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { decodeImage, type DecodedImage } from '../decoders/image.js';

export const IMAGE_EXTENSIONS: readonly string[] = [
  '.jpg',
  '.jpeg',
  '.png',
  '.gif',
  '.bmp',
  '.webp',
];

export interface ImageFolderEntry {
  /** Path of the file. */
  path: string;
  /** Path relative to the root, with '/' separators (e.g. `cat/001.jpg`). */
  relativePath: string;
  label: number;
  className: string;
}

export interface ImageFolderListing {
  root: string;
  classNames: string[];
  entries: ImageFolderEntry[];
}

export class ImageFolderError extends Error {
  override name = 'ImageFolderError';
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Lists the classes and image files under `root`. */
export async function listImageFolder(root: string): Promise<ImageFolderListing> {
  let top;
  try {
    top = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new ImageFolderError(`cannot list image folder ${root}: ${(err as Error).message}`);
  }
  const classNames = top
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(byCodePoint);
  if (classNames.length === 0) {
    throw new ImageFolderError(`${root}: no class sub-folders (expected ${root}/<class>/<image>)`);
  }
  const entries: ImageFolderEntry[] = [];
  for (const [label, className] of classNames.entries()) {
    const files = (await readdir(join(root, className), { withFileTypes: true }))
      .filter(
        (e) =>
          e.isFile() &&
          !e.name.startsWith('.') &&
          IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()),
      )
      .map((e) => e.name)
      .sort(byCodePoint);
    for (const f of files) {
      entries.push({
        path: join(root, className, f),
        relativePath: `${className}/${f}`,
        label,
        className,
      });
    }
  }
  if (entries.length === 0) throw new ImageFolderError(`${root}: the class folders hold no images`);
  return { root, classNames, entries };
}

/** One image of a folder dataset, decoded. */
export interface ImageFolderExample extends ImageFolderEntry {
  /** HWC uint8 RGB. */
  image: DecodedImage;
  /** The file's bytes. */
  encoded: Uint8Array;
}

/**
 * Reads an image folder directly (no TFRecord step), yielding decoded examples in listing order.
 * An undecodable file throws an error naming it.
 */
export async function* readImageFolder(root: string): AsyncGenerator<ImageFolderExample> {
  const listing = await listImageFolder(root);
  for (const entry of listing.entries) {
    const encoded = await readFile(entry.path);
    const image = await decodeImage(encoded, { channels: 3, record: { file: entry.path } });
    yield {
      ...entry,
      encoded: new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength),
      image,
    };
  }
}
