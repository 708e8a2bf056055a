/**
 * Snappy decompression (raw block format, as LevelDB-style tables store a block of type 1).
 *
 * Format (google/snappy format_description.txt): a varint with the uncompressed length, then
 * elements whose tag byte's low two bits pick the kind: 00 literal (length-1 in the upper six
 * bits, or in the 1..4 little-endian bytes that follow when those bits are 60..63), 01 copy with
 * length 4..11 and an 11-bit offset, 10 copy with length 1..64 and a 16-bit offset, 11 copy with
 * length 1..64 and a 32-bit offset. Copies may overlap their own output (run-length encoding).
 */

/**
 * Decompresses a raw snappy block.
 * @param where names the block in error messages (e.g. `ckpt.index block at 0`).
 */
export function snappyDecompress(src: Uint8Array, where = 'snappy block'): Uint8Array {
  const fail = (why: string): never => {
    throw new Error(`${where}: corrupt snappy data (${why})`);
  };
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= src.length || shift > 28) fail('bad uncompressed-length varint');
    const b = src[pos++];
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > 0xffffffff) fail(`uncompressed length ${length} too large`);
  const out = new Uint8Array(length);
  let o = 0;
  while (pos < src.length) {
    const tag = src[pos++];
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const nBytes = len - 59;
        if (pos + nBytes > src.length) fail('truncated literal length');
        len = 0;
        for (let i = 0; i < nBytes; i++) len += src[pos + i] * 2 ** (8 * i);
        pos += nBytes;
      }
      len += 1;
      if (pos + len > src.length) fail('literal runs past the input');
      if (o + len > length) fail('literal runs past the declared length');
      out.set(src.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= src.length) fail('truncated copy');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[pos++];
    } else if (kind === 2) {
      if (pos + 2 > src.length) fail('truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[pos] | (src[pos + 1] << 8);
      pos += 2;
    } else {
      if (pos + 4 > src.length) fail('truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[pos] | (src[pos + 1] << 8) | (src[pos + 2] << 16) | (src[pos + 3] << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > o) fail(`copy offset ${offset} at output position ${o}`);
    if (o + len > length) fail('copy runs past the declared length');
    // Byte by byte: a copy may overlap the bytes it is producing.
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset];
  }
  if (o !== length) fail(`got ${o} bytes, header says ${length}`);
  return out;
}
