/**
 * Float32Array ⇄ BLOB, always little-endian whatever the host, bit for bit (NaN payloads, -0 and
 * subnormals included: the bytes are copied, never converted through a JS number).
 */
import { endianness } from 'node:os';

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/** The array's bytes as a Buffer, little-endian. Respects views: only `values`' own range is written. */
export function float32ToBlob(values: Float32Array): Buffer {
  if (HOST_IS_LITTLE_ENDIAN) {
    // A copy, so the blob does not alias memory the caller may keep changing.
    return Buffer.from(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  const out = Buffer.alloc(values.byteLength);
  const source = new DataView(values.buffer, values.byteOffset, values.byteLength);
  for (let i = 0; i < values.length; i++) out.writeUInt32LE(source.getUint32(i * 4, false), i * 4);
  return out;
}

/**
 * A fresh Float32Array from a little-endian BLOB. The Buffer SQLite hands back may sit at any byte offset
 * of a shared pool, and a Float32Array view needs 4-byte alignment, so the bytes are copied into a new,
 * aligned array rather than viewed.
 */
export function blobToFloat32(blob: Uint8Array, expectedLength: number, what: string): Float32Array {
  if (blob.byteLength !== expectedLength * 4) {
    throw new Error(
      `${what} is corrupt: expected ${expectedLength} float32 values (${expectedLength * 4} bytes), found ${blob.byteLength} bytes`,
    );
  }
  const out = new Float32Array(expectedLength);
  const bytes = new Uint8Array(out.buffer);
  bytes.set(blob);
  if (!HOST_IS_LITTLE_ENDIAN) {
    const view = new DataView(out.buffer);
    for (let i = 0; i < expectedLength; i++) view.setUint32(i * 4, view.getUint32(i * 4, true), false);
  }
  return out;
}

/** Copies a little-endian BLOB of float32 values into `out` from value index `offset`, without a temporary. */
export function copyBlobInto(blob: Uint8Array, out: Float32Array, offset: number): void {
  const count = blob.byteLength / 4;
  new Uint8Array(out.buffer, out.byteOffset + offset * 4, blob.byteLength).set(blob);
  if (!HOST_IS_LITTLE_ENDIAN) {
    const view = new DataView(out.buffer, out.byteOffset + offset * 4, blob.byteLength);
    for (let i = 0; i < count; i++) view.setUint32(i * 4, view.getUint32(i * 4, true), false);
  }
}
