/**
 * Model versions: a JSON meta object plus named Float32 tensors stored as BLOBs. Exactly one version is
 * current (a partial unique index enforces it); the server polls `currentId()` and reloads when it moves.
 */
import type { Database, Statement } from 'better-sqlite3';
import { UnknownModelVersionError } from './errors.js';
import { blobToFloat32, float32ToBlob } from './float32Blob.js';

export interface ModelVersionInfo<Meta = unknown> {
  id: number;
  /** ms since epoch. */
  createdAt: number;
  meta: Meta;
}

export interface ModelVersion<Meta = unknown> extends ModelVersionInfo<Meta> {
  tensors: Record<string, Float32Array>;
}

interface VersionRow {
  id: number;
  created_at: number;
  meta: string;
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
  private readonly insertVersion: Statement<[number, string]>;
  private readonly insertTensor: Statement<[number, string, number, Buffer]>;
  private readonly clearCurrent: Statement<[]>;
  private readonly markCurrent: Statement<[number]>;
  private readonly selectCurrent: Statement<[], VersionRow>;
  private readonly selectCurrentId: Statement<[], { id: number }>;
  private readonly selectVersion: Statement<[number], VersionRow>;
  private readonly selectTensors: Statement<[number], TensorRow>;
  private readonly selectAll: Statement<[], { id: number; created_at: number; is_current: number }>;
  private readonly saveTransaction: (meta: string, tensors: [string, Float32Array][]) => number;

  constructor(db: Database) {
    this.insertVersion = db.prepare('INSERT INTO model_versions (created_at, meta, is_current) VALUES (?, ?, 0)');
    this.insertTensor = db.prepare('INSERT INTO model_tensors (version_id, name, length, data) VALUES (?, ?, ?, ?)');
    this.clearCurrent = db.prepare('UPDATE model_versions SET is_current = 0 WHERE is_current = 1');
    this.markCurrent = db.prepare('UPDATE model_versions SET is_current = 1 WHERE id = ?');
    this.selectCurrent = db.prepare('SELECT id, created_at, meta FROM model_versions WHERE is_current = 1');
    this.selectCurrentId = db.prepare('SELECT id FROM model_versions WHERE is_current = 1');
    this.selectVersion = db.prepare('SELECT id, created_at, meta FROM model_versions WHERE id = ?');
    this.selectTensors = db.prepare('SELECT name, length, data FROM model_tensors WHERE version_id = ? ORDER BY name');
    this.selectAll = db.prepare('SELECT id, created_at, is_current FROM model_versions ORDER BY id');

    this.saveTransaction = db.transaction((meta: string, tensors: [string, Float32Array][]) => {
      const id = Number(this.insertVersion.run(Date.now(), meta).lastInsertRowid);
      for (const [name, values] of tensors) this.insertTensor.run(id, name, values.length, float32ToBlob(values));
      // Switch last, inside the same transaction: readers see the old version current until COMMIT.
      this.clearCurrent.run();
      this.markCurrent.run(id);
      return id;
    });
  }

  /**
   * Stores a new version and makes it current, in one transaction: if anything fails (a tensor that is
   * not a Float32Array, meta that is not JSON, a full disk) nothing is written and the previous version
   * stays current. Returns the new version's id.
   */
  saveVersion(meta: Meta, tensors: Record<string, Float32Array>): number {
    const entries = Object.entries(tensors);
    for (const [name, values] of entries) {
      if (!(values instanceof Float32Array)) {
        throw new TypeError(`tensor "${name}" must be a Float32Array, got ${describe(values)}`);
      }
      if (name === '') throw new TypeError('tensor names must not be empty');
    }
    const metaJson = JSON.stringify(meta);
    if (metaJson === undefined) throw new TypeError('model meta must be a JSON value (an object)');
    return this.saveTransaction(metaJson, entries);
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
  list(): { id: number; createdAt: number; isCurrent: boolean }[] {
    return this.selectAll.all().map((row) => ({ id: row.id, createdAt: row.created_at, isCurrent: row.is_current === 1 }));
  }
}

function toInfo<Meta>(row: VersionRow): ModelVersionInfo<Meta> {
  return { id: row.id, createdAt: row.created_at, meta: JSON.parse(row.meta) as Meta };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
