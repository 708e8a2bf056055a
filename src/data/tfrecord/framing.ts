/**
 * TFRecord framing (tensorflow/core/lib/io/record_writer.h):
 *   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes |
 *   payload[length]               | uint32 masked CRC-32C of the payload
 */
import { maskedCrc32c } from '../../core/crc32c.js';

/** Bytes before the payload: length + length CRC. */
export const HEADER_BYTES = 12;
/** Bytes after the payload: payload CRC. */
export const FOOTER_BYTES = 4;

/** The 12-byte header for a payload of `length` bytes. */
export function encodeHeader(length: number): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(length), true);
  view.setUint32(8, maskedCrc32c(header.subarray(0, 8)), true);
  return header;
}

/** The 4-byte footer (masked CRC-32C) for `payload`. */
export function encodeFooter(payload: Uint8Array): Uint8Array {
  const footer = new Uint8Array(FOOTER_BYTES);
  new DataView(footer.buffer).setUint32(0, maskedCrc32c(payload), true);
  return footer;
}

/** Reads a little-endian uint32 at `offset`. */
export function readUint32LE(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

/** Reads a little-endian uint64 at `offset` as a bigint. */
export function readUint64LE(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true);
}
