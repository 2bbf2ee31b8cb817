/**
 * Training checkpoints as files beside the database, so a long training (MovieLens 25M: tens of minutes)
 * is never wasted: `<db>.checkpoint-<phase>` holds one orientation's best-so-far RBM (train.ts
 * RbmCheckpoint) and a fingerprint of what it was trained on; a resumed run refuses a checkpoint whose
 * fingerprint differs (other data or other options would make it meaningless).
 *
 * File layout: "RBMCKPT1" (8 bytes), the header's byte length (uint32 LE), the header (UTF-8 JSON), zero
 * padding to a multiple of 4, then W, b and c as little-endian float32. Written to a temporary file,
 * flushed and renamed over the old one: a crash mid-write leaves the previous checkpoint intact.
 */
import { closeSync, existsSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { RbmCheckpoint } from '../rbm/train.js';
import { copyBlobInto, float32ToBlob } from '../store/float32Blob.js';

const MAGIC = 'RBMCKPT1';

interface CheckpointHeader {
  fingerprint: string;
  phase: string;
  epoch: number;
  bestEpoch: number;
  bestValidationRmse: number | null;
  curve: RbmCheckpoint['curve'];
  visibles: number;
  levels: number;
  hidden: number;
}

/** The checkpoint file of one orientation for the database at `dbPath`. */
export function checkpointPath(dbPath: string, phase: string): string {
  return `${dbPath}.checkpoint-${phase}`;
}

/** Writes `checkpoint` atomically (temporary file, fsync, rename). */
export function writeCheckpoint(path: string, checkpoint: RbmCheckpoint, fingerprint: string): void {
  const p = checkpoint.params;
  const header: CheckpointHeader = {
    fingerprint,
    phase: checkpoint.phase,
    epoch: checkpoint.epoch,
    bestEpoch: checkpoint.bestEpoch,
    bestValidationRmse: checkpoint.bestValidationRmse,
    curve: checkpoint.curve,
    visibles: p.visibles,
    levels: p.levels,
    hidden: p.hidden,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(paddedPrefixLength(headerBytes.length));
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(headerBytes.length, MAGIC.length);
  headerBytes.copy(prefix, MAGIC.length + 4);
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeAll(fd, prefix);
    for (const tensor of [p.W, p.b, p.c]) writeAll(fd, float32ToBlob(tensor));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/**
 * The checkpoint at `path`, or null when there is none. Throws when the file is damaged or was written
 * for another fingerprint, saying which and what to do.
 */
export function readCheckpoint(path: string, fingerprint: string): RbmCheckpoint | null {
  if (!existsSync(path)) return null;
  const fd = openSync(path, 'r');
  try {
    const start = Buffer.alloc(MAGIC.length + 4);
    if (readSync(fd, start, 0, start.length, 0) !== start.length || start.toString('latin1', 0, MAGIC.length) !== MAGIC) {
      throw new Error(`${path} is not a training checkpoint (it does not start with ${MAGIC}): delete it to train from scratch`);
    }
    const headerLength = start.readUInt32LE(MAGIC.length);
    const headerBytes = Buffer.alloc(headerLength);
    readSync(fd, headerBytes, 0, headerLength, start.length);
    const header = JSON.parse(headerBytes.toString('utf8')) as CheckpointHeader;
    if (header.fingerprint !== fingerprint) {
      throw new Error(
        `${path} was written for other data or options (${header.fingerprint}), not for this training (${fingerprint}): ` +
          'run without --resume to start over, or delete the file',
      );
    }
    const { visibles, levels, hidden } = header;
    const W = new Float32Array(visibles * levels * hidden);
    const b = new Float32Array(visibles * levels);
    const c = new Float32Array(hidden);
    let position = paddedPrefixLength(headerLength);
    for (const tensor of [W, b, c]) {
      const bytes = Buffer.alloc(tensor.byteLength);
      const read = readFully(fd, bytes, position);
      if (read !== bytes.length) {
        throw new Error(`${path} is truncated: expected ${bytes.length} bytes of parameters at byte ${position}, found ${read}`);
      }
      copyBlobInto(bytes, tensor, 0);
      position += read;
    }
    return {
      phase: header.phase,
      epoch: header.epoch,
      params: { visibles, levels, hidden, W, b, c },
      bestEpoch: header.bestEpoch,
      bestValidationRmse: header.bestValidationRmse,
      curve: header.curve,
    };
  } finally {
    closeSync(fd);
  }
}

/** Removes the checkpoints of a training that finished and was saved as a model version. */
export function removeCheckpoint(path: string): void {
  rmSync(path, { force: true });
}

/**
 * What a checkpoint must match to be resumed: the catalog's shape and the training options. Two runs with
 * the same fingerprint train the same model from the same data.
 */
export function trainingFingerprint(data: { users: number; items: number; ratings: number }, options: unknown): string {
  return `users=${data.users} items=${data.items} ratings=${data.ratings} options=${JSON.stringify(options)}`;
}

function paddedPrefixLength(headerLength: number): number {
  return Math.ceil((MAGIC.length + 4 + headerLength) / 4) * 4;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

function readFully(fd: number, into: Buffer, position: number): number {
  let done = 0;
  while (done < into.length) {
    const read = readSync(fd, into, done, into.length - done, position + done);
    if (read === 0) break;
    done += read;
  }
  return done;
}
