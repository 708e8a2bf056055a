/**
 * CRC-32C (Castagnoli), as TFRecord framing, TensorBoard event files and our checkpoints use it,
 * and TensorFlow's "masked" variant: ((crc >>> 15) | (crc << 17)) + 0xa282ead8
 * (tensorflow/core/lib/hash/crc32c.h).
 */
const TABLE = (() => {
  const t = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  // Slicing-by-8 tables.
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++)
      t[s * 256 + i] = (t[(s - 1) * 256 + i] >>> 8) ^ t[t[(s - 1) * 256 + i] & 0xff];
  }
  return t;
})();

/** CRC-32C of `data`, optionally continuing from a previous (unmasked) value. */
export function crc32c(data: Uint8Array, prev = 0): number {
  let crc = ~prev >>> 0;
  let i = 0;
  const n = data.length;
  const t = TABLE;
  while (n - i >= 8) {
    const a = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) ^ crc;
    crc =
      t[7 * 256 + (a & 0xff)] ^
      t[6 * 256 + ((a >>> 8) & 0xff)] ^
      t[5 * 256 + ((a >>> 16) & 0xff)] ^
      t[4 * 256 + (a >>> 24)] ^
      t[3 * 256 + data[i + 4]] ^
      t[2 * 256 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
    i += 8;
  }
  for (; i < n; i++) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Masks an (unmasked) CRC-32C value as TensorFlow stores it. */
export function maskCrc32c(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** TensorFlow's masked CRC-32C, stored in TFRecord headers and footers. */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc32c(crc32c(data));
}
