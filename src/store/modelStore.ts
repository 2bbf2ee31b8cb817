/**
/**
 * Model versions: a JSON meta object plus named Float32 tensors. Exactly one version is current (a partial
 * unique index enforces it); the server polls `currentId()` and reloads when it moves. Each version
 * records the catalog generation it was trained on (catalogImport.ts).
 *
 * Tensors of any size: a tensor is written as consecutive chunks of at most `chunkBytes` (64 MiB) in
 * model_tensor_chunks, because one BLOB cannot exceed SQLite's length limit (536,870,888 bytes under
 * better-sqlite3: "The bound string, buffer, or bigint is too big"). Versions saved before chunking (one
 * BLOB per tensor in model_tensors.data, chunks = 0) still load.
 */
import type { Database, Statement } from 'better-sqlite3';
import { CatalogChangedError, UnknownModelVersionError } from './errors.js';
import { blobToFloat32, copyBlobInto, float32ToBlob } from './float32Blob.js';

export interface ModelVersionInfo<Meta = unknown> {
  id: number;
  /** ms since epoch. */
  createdAt: number;
  meta: Meta;
  /** The catalog generation the model was trained on. */
  catalogGeneration: number;
}

export interface SaveOptions {
  /**
   * The catalog generation the training data was read at (CatalogStore.loadDatasetWithGeneration). When
   * given, the save is refused with CatalogChangedError if the generation moved meanwhile. When left out,
   * the version records the current generation (callers that read and save with nothing in between).
   */
  catalogGeneration?: number;
}

export interface ModelVersion<Meta = unknown> extends ModelVersionInfo<Meta> {
  tensors: Record<string, Float32Array>;
}

interface VersionRow {
  id: number;
  created_at: number;
  meta: string;
  catalog_generation: number;
}

interface TensorRow {
  name: string;
  length: number;
  data: Buffer;
  chunks: number;
}

export interface ModelStoreOptions {
  /** Largest chunk a tensor is split into, in bytes (a multiple of 4); default 64 MiB. */
  chunkBytes?: number;
}

/** Chunks small enough to bind and read comfortably, far below SQLite's per-value length limit. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;
const EMPTY_BLOB = Buffer.alloc(0);

/** A save that failed: says which tensor and why; nothing of the new version was kept. */
export class ModelSaveError extends Error {
  override readonly name = 'ModelSaveError';
}

/**
 * `Meta` is the caller's shape for the JSON meta (e.g. the trainer's ModelMeta); the store only
 * serialises it, so reading it back as `Meta` is the caller's promise, not something checked here.
 */
export class ModelStore<Meta = unknown> {
  private readonly insertVersion: Statement<[number, string, number]>;
  private readonly readGeneration: Statement<[], number>;
  private readonly insertTensor: Statement<[number, string, number, Buffer, number]>;
  private readonly insertChunk: Statement<[number, string, number, Buffer]>;
  private readonly selectChunks: Statement<[number, string], Buffer>;
  private readonly chunkValues: number;
  private readonly clearCurrent: Statement<[]>;
  private readonly markCurrent: Statement<[number]>;
  private readonly selectCurrent: Statement<[], VersionRow>;
  private readonly selectCurrentId: Statement<[], { id: number }>;
  private readonly selectVersion: Statement<[number], VersionRow>;
  private readonly selectTensors: Statement<[number], TensorRow>;
  private readonly selectAll: Statement<[], { id: number; created_at: number; is_current: number; catalog_generation: number }>;
  private readonly saveTransaction: (meta: string, tensors: [string, Float32Array][], generation: number | undefined) => number;

  constructor(db: Database, options: ModelStoreOptions = {}) {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 4 || chunkBytes % 4 !== 0) {
      throw new RangeError(`chunkBytes must be a whole number of float32 values (a multiple of 4 ≥ 4), got ${chunkBytes}`);
    }
    this.chunkValues = chunkBytes / 4;
    this.insertVersion = db.prepare('INSERT INTO model_versions (created_at, meta, catalog_generation, is_current) VALUES (?, ?, ?, 0)');
    this.readGeneration = db.prepare<[], number>('SELECT generation FROM catalog_state WHERE id = 1').pluck();
    this.insertTensor = db.prepare('INSERT INTO model_tensors (version_id, name, length, data, chunks) VALUES (?, ?, ?, ?, ?)');
    this.insertChunk = db.prepare('INSERT INTO model_tensor_chunks (version_id, name, chunk, data) VALUES (?, ?, ?, ?)');
    this.selectChunks = db
      .prepare<[number, string], Buffer>('SELECT data FROM model_tensor_chunks WHERE version_id = ? AND name = ? ORDER BY chunk')
      .pluck();
    this.clearCurrent = db.prepare('UPDATE model_versions SET is_current = 0 WHERE is_current = 1');
    this.markCurrent = db.prepare('UPDATE model_versions SET is_current = 1 WHERE id = ?');
    this.selectCurrent = db.prepare('SELECT id, created_at, meta, catalog_generation FROM model_versions WHERE is_current = 1');
    this.selectCurrentId = db.prepare('SELECT id FROM model_versions WHERE is_current = 1');
    this.selectVersion = db.prepare('SELECT id, created_at, meta, catalog_generation FROM model_versions WHERE id = ?');
    this.selectTensors = db.prepare('SELECT name, length, data, chunks FROM model_tensors WHERE version_id = ? ORDER BY name');
    this.selectAll = db.prepare('SELECT id, created_at, is_current, catalog_generation FROM model_versions ORDER BY id');

    // IMMEDIATE: the generation check and the switch to current must see the same catalog; with the write
    // lock held from BEGIN, no import can commit in between, and a concurrent writer makes us wait
    // (busy_timeout) instead of failing half-way through a long save.
    const save = db.transaction((meta: string, tensors: [string, Float32Array][], trainedOn: number | undefined) => {
      const generation = this.readGeneration.get() as number;
      if (trainedOn !== undefined && trainedOn !== generation) throw new CatalogChangedError(trainedOn, generation);
      const id = Number(this.insertVersion.run(Date.now(), meta, generation).lastInsertRowid);
      for (const [name, values] of tensors) this.writeTensor(id, name, values);
      // Switch last, inside the same transaction: readers see the old version current until COMMIT.
      this.clearCurrent.run();
      this.markCurrent.run(id);
      return id;
    });
    this.saveTransaction = (meta, tensors, trainedOn) => save.immediate(meta, tensors, trainedOn);
  }

  /** One tensor as ⌈length / chunkValues⌉ chunks (a single chunk for small ones; none when empty). */
  private writeTensor(id: number, name: string, values: Float32Array): void {
    const length = values.length;
    const chunks = Math.ceil(length / this.chunkValues);
    try {
      this.insertTensor.run(id, name, length, EMPTY_BLOB, chunks);
      for (let c = 0; c < chunks; c++) {
        const from = c * this.chunkValues;
        this.insertChunk.run(id, name, c, float32ToBlob(values.subarray(from, Math.min(length, from + this.chunkValues))));
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ModelSaveError(
        `could not save model version: writing tensor "${name}" (${length} float32 values, ${4 * length} bytes, ` +
          `${chunks} chunk${chunks === 1 ? '' : 's'}) failed: ${reason}; nothing was saved and the previous version stays current`,
        { cause: error },
      );
    }
  }

  /**
   * Stores a new version and makes it current, in one transaction: if anything fails (a tensor that is
   * not a Float32Array, meta that is not JSON, a full disk) nothing is written and the previous version
   * stays current. Throws CatalogChangedError (and saves nothing) when `options.catalogGeneration` is given
   * and an import changed the catalog since. Returns the new version's id.
   */
  saveVersion(meta: Meta, tensors: Record<string, Float32Array>, options: SaveOptions = {}): number {
    const entries = Object.entries(tensors);
    for (const [name, values] of entries) {
      if (!(values instanceof Float32Array)) {
        throw new TypeError(`tensor "${name}" must be a Float32Array, got ${describe(values)}`);
      }
      if (name === '') throw new TypeError('tensor names must not be empty');
    }
    const metaJson = JSON.stringify(meta);
    if (metaJson === undefined) throw new TypeError('model meta must be a JSON value (an object)');
    return this.saveTransaction(metaJson, entries, options.catalogGeneration);
  }

  current(): ModelVersionInfo<Meta> | null {
    const row = this.selectCurrent.get();
    return row ? toInfo<Meta>(row) : null;
  }

  /** The current version's id, or null: one indexed lookup, cheap enough to poll. */
  currentId(): number | null {
    return this.selectCurrentId.get()?.id ?? null;
  }

  /** A version with all its tensors; throws UnknownModelVersionError for an id not stored. */
  load(id: number): ModelVersion<Meta> {
    const row = this.selectVersion.get(id);
    if (!row) throw new UnknownModelVersionError(id);
    const tensors: Record<string, Float32Array> = {};
    // The tensor rows first (small), then each tensor's chunks: one statement iterating at a time.
    const rows = this.selectTensors.all(id);
    for (const tensor of rows) {
      const what = `tensor "${tensor.name}" of model version ${id}`;
      tensors[tensor.name] = tensor.chunks === 0 ? blobToFloat32(tensor.data, tensor.length, what) : this.readChunks(id, tensor, what);
    }
    return { ...toInfo<Meta>(row), tensors };
  }

  /** Concatenates a chunked tensor's chunks into one fresh array, checking their count and sizes. */
  private readChunks(id: number, tensor: TensorRow, what: string): Float32Array {
    const out = new Float32Array(tensor.length);
    let offset = 0;
    let count = 0;
    for (const chunk of this.selectChunks.iterate(id, tensor.name)) {
      if (chunk.byteLength % 4 !== 0 || offset + chunk.byteLength / 4 > tensor.length) {
        throw new Error(
          `${what} is corrupt: chunk ${count} has ${chunk.byteLength} bytes, past the ${tensor.length} float32 values recorded`,
        );
      }
      copyBlobInto(chunk, out, offset);
      offset += chunk.byteLength / 4;
      count++;
    }
    if (count !== tensor.chunks || offset !== tensor.length) {
      throw new Error(
        `${what} is corrupt: expected ${tensor.chunks} chunks holding ${tensor.length} float32 values, found ${count} chunks holding ${offset}`,
      );
    }
    return out;
  }

  /** All versions, oldest first. */
  list(): { id: number; createdAt: number; isCurrent: boolean; catalogGeneration: number }[] {
    return this.selectAll.all().map((row) => ({
      id: row.id,
      createdAt: row.created_at,
      isCurrent: row.is_current === 1,
      catalogGeneration: row.catalog_generation,
    }));
  }
}

function toInfo<Meta>(row: VersionRow): ModelVersionInfo<Meta> {
  return { id: row.id, createdAt: row.created_at, meta: JSON.parse(row.meta) as Meta, catalogGeneration: row.catalog_generation };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
