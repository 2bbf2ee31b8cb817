/**
 * Model versions: a JSON meta object plus named Float32 tensors stored as BLOBs. Exactly one version is
 * current (a partial unique index enforces it); the server polls `currentId()` and reloads when it moves.
 * Each version records the catalog generation it was trained on (catalogImport.ts).
 */
import type { Database, Statement } from 'better-sqlite3';
import { CatalogChangedError, UnknownModelVersionError } from './errors.js';
import { blobToFloat32, float32ToBlob } from './float32Blob.js';

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
}

/**
 * `Meta` is the caller's shape for the JSON meta (e.g. the trainer's ModelMeta); the store only
 * serialises it, so reading it back as `Meta` is the caller's promise, not something checked here.
 */
export class ModelStore<Meta = unknown> {
  private readonly insertVersion: Statement<[number, string, number]>;
  private readonly readGeneration: Statement<[], number>;
  private readonly insertTensor: Statement<[number, string, number, Buffer]>;
  private readonly clearCurrent: Statement<[]>;
  private readonly markCurrent: Statement<[number]>;
  private readonly selectCurrent: Statement<[], VersionRow>;
  private readonly selectCurrentId: Statement<[], { id: number }>;
  private readonly selectVersion: Statement<[number], VersionRow>;
  private readonly selectTensors: Statement<[number], TensorRow>;
  private readonly selectAll: Statement<[], { id: number; created_at: number; is_current: number; catalog_generation: number }>;
  private readonly saveTransaction: (meta: string, tensors: [string, Float32Array][], generation: number | undefined) => number;

  constructor(db: Database) {
    this.insertVersion = db.prepare('INSERT INTO model_versions (created_at, meta, catalog_generation, is_current) VALUES (?, ?, ?, 0)');
    this.readGeneration = db.prepare<[], number>('SELECT generation FROM catalog_state WHERE id = 1').pluck();
    this.insertTensor = db.prepare('INSERT INTO model_tensors (version_id, name, length, data) VALUES (?, ?, ?, ?)');
    this.clearCurrent = db.prepare('UPDATE model_versions SET is_current = 0 WHERE is_current = 1');
    this.markCurrent = db.prepare('UPDATE model_versions SET is_current = 1 WHERE id = ?');
    this.selectCurrent = db.prepare('SELECT id, created_at, meta, catalog_generation FROM model_versions WHERE is_current = 1');
    this.selectCurrentId = db.prepare('SELECT id FROM model_versions WHERE is_current = 1');
    this.selectVersion = db.prepare('SELECT id, created_at, meta, catalog_generation FROM model_versions WHERE id = ?');
    this.selectTensors = db.prepare('SELECT name, length, data FROM model_tensors WHERE version_id = ? ORDER BY name');
    this.selectAll = db.prepare('SELECT id, created_at, is_current, catalog_generation FROM model_versions ORDER BY id');

    // IMMEDIATE: the generation check and the switch to current must see the same catalog; with the write
    // lock held from BEGIN, no import can commit in between.
    const save = db.transaction((meta: string, tensors: [string, Float32Array][], trainedOn: number | undefined) => {
      const generation = this.readGeneration.get() as number;
      if (trainedOn !== undefined && trainedOn !== generation) throw new CatalogChangedError(trainedOn, generation);
      const id = Number(this.insertVersion.run(Date.now(), meta, generation).lastInsertRowid);
      for (const [name, values] of tensors) this.insertTensor.run(id, name, values.length, float32ToBlob(values));
      // Switch last, inside the same transaction: readers see the old version current until COMMIT.
      this.clearCurrent.run();
      this.markCurrent.run(id);
      return id;
    });
    this.saveTransaction = (meta, tensors, trainedOn) => save.immediate(meta, tensors, trainedOn);
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
    for (const tensor of this.selectTensors.iterate(id)) {
      tensors[tensor.name] = blobToFloat32(tensor.data, tensor.length, `tensor "${tensor.name}" of model version ${id}`);
    }
    return { ...toInfo<Meta>(row), tensors };
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
