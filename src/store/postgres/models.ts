/**
 * Model versions in PostgreSQL, as ModelStore (../modelStore.ts) stores them in SQLite: one row per
 * version, its tensors in chunks (BYTEA, little-endian float32), saved and made current in one
 * transaction that first checks the catalog generation the model was trained on.
 *
 * Two saves at once (a train run on each of two machines) are serialised by an advisory lock, so the
 * "clear the current one, mark the new one" pair never meets another save's. COMMIT sends NOTIFY
 * model:<id>: every replica loads the new version without a restart.
 */
import { CatalogChangedError, UnknownModelVersionError } from '../errors.js';
import { blobToFloat32, copyBlobInto, float32ToBlob } from '../float32Blob.js';
import { ModelSaveError, type ModelVersion, type ModelVersionInfo, type SaveOptions } from '../modelStore.js';
import type { ModelRepository } from '../store.js';
import { CHANNEL } from './channel.js';
import { inTransaction, type Pool } from './pool.js';

/** Chunks of 16 MiB: one bind parameter each, comfortably below PostgreSQL's 1 GB per value. */
export const POSTGRES_CHUNK_BYTES = 16 * 1024 * 1024;
const SAVE_LOCK = 824_240_002;

interface VersionRow {
  id: number;
  created_at: number;
  meta: string;
  catalog_generation: number;
}

export class PostgresModels<Meta = unknown> implements ModelRepository<Meta> {
  private readonly chunkValues: number;

  constructor(
    private readonly pool: Pool,
    chunkBytes = POSTGRES_CHUNK_BYTES,
  ) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 4 || chunkBytes % 4 !== 0) {
      throw new RangeError(`chunkBytes must be a whole number of float32 values (a multiple of 4 ≥ 4), got ${chunkBytes}`);
    }
    this.chunkValues = chunkBytes / 4;
  }

  async saveVersion(meta: Meta, tensors: Record<string, Float32Array>, options: SaveOptions = {}): Promise<number> {
    const entries = Object.entries(tensors);
    for (const [name, values] of entries) {
      if (!(values instanceof Float32Array)) throw new TypeError(`tensor "${name}" must be a Float32Array, got ${typeof values}`);
      if (name === '') throw new TypeError('tensor names must not be empty');
    }
    const metaJson = JSON.stringify(meta);
    if (metaJson === undefined) throw new TypeError('model meta must be a JSON value (an object)');
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SAVE_LOCK]);
      const generation = (await client.query<{ generation: number }>('SELECT generation FROM catalog_state WHERE id = 1 FOR SHARE')).rows[0]
        .generation;
      const trainedOn = options.catalogGeneration;
      if (trainedOn !== undefined && trainedOn !== generation) throw new CatalogChangedError(trainedOn, generation);
      const id = (
        await client.query<{ id: number }>(
          'INSERT INTO model_versions (created_at, meta, catalog_generation, is_current) VALUES ($1, $2, $3, 0) RETURNING id',
          [Date.now(), metaJson, generation],
        )
      ).rows[0].id;
      for (const [name, values] of entries) {
        const length = values.length;
        const chunks = Math.ceil(length / this.chunkValues);
        try {
          await client.query('INSERT INTO model_tensors (version_id, name, length, data, chunks) VALUES ($1, $2, $3, $4, $5)', [
            id,
            name,
            length,
            Buffer.alloc(0),
            chunks,
          ]);
          for (let c = 0; c < chunks; c++) {
            const from = c * this.chunkValues;
            await client.query('INSERT INTO model_tensor_chunks (version_id, name, chunk, data) VALUES ($1, $2, $3, $4)', [
              id,
              name,
              c,
              float32ToBlob(values.subarray(from, Math.min(length, from + this.chunkValues))),
            ]);
          }
        } catch (error) {
          throw new ModelSaveError(
            `could not save model version: writing tensor "${name}" (${length} float32 values, ${4 * length} bytes, ` +
              `${chunks} chunk${chunks === 1 ? '' : 's'}) failed: ${(error as Error).message}; nothing was saved and the previous version stays current`,
            { cause: error },
          );
        }
      }
      // Switch last, inside the same transaction: readers see the old version current until COMMIT.
      await client.query('UPDATE model_versions SET is_current = 0 WHERE is_current = 1');
      await client.query('UPDATE model_versions SET is_current = 1 WHERE id = $1', [id]);
      await client.query('SELECT pg_notify($1, $2)', [CHANNEL, `model:${id}`]);
      return id;
    });
  }

  async current(): Promise<ModelVersionInfo<Meta> | null> {
    const { rows } = await this.pool.query<VersionRow>(
      'SELECT id, created_at, meta, catalog_generation FROM model_versions WHERE is_current = 1',
    );
    return rows.length > 0 ? toInfo<Meta>(rows[0]) : null;
  }

  async currentId(): Promise<number | null> {
    const { rows } = await this.pool.query<{ id: number }>('SELECT id FROM model_versions WHERE is_current = 1');
    return rows[0]?.id ?? null;
  }

  /** A version with its tensors, read in one snapshot, chunk by chunk (one chunk in memory beside the result). */
  async load(id: number): Promise<ModelVersion<Meta>> {
    return inTransaction(
      this.pool,
      async (client) => {
        const { rows } = await client.query<VersionRow>(
          'SELECT id, created_at, meta, catalog_generation FROM model_versions WHERE id = $1',
          [id],
        );
        if (rows.length === 0) throw new UnknownModelVersionError(id);
        const tensorRows = (
          await client.query<{ name: string; length: number; data: Buffer; chunks: number }>(
            'SELECT name, length, data, chunks FROM model_tensors WHERE version_id = $1 ORDER BY name',
            [id],
          )
        ).rows;
        const tensors: Record<string, Float32Array> = {};
        for (const tensor of tensorRows) {
          const what = `tensor "${tensor.name}" of model version ${id}`;
          if (tensor.chunks === 0) {
            tensors[tensor.name] = blobToFloat32(tensor.data, tensor.length, what);
            continue;
          }
          const out = new Float32Array(tensor.length);
          let offset = 0;
          for (let c = 0; c < tensor.chunks; c++) {
            const chunk = (
              await client.query<{ data: Buffer }>(
                'SELECT data FROM model_tensor_chunks WHERE version_id = $1 AND name = $2 AND chunk = $3',
                [id, tensor.name, c],
              )
            ).rows[0]?.data;
            if (!chunk || chunk.byteLength % 4 !== 0 || offset + chunk.byteLength / 4 > tensor.length) {
              throw new Error(
                `${what} is corrupt: chunk ${c} is missing or has ${chunk?.byteLength ?? 0} bytes, past the ${tensor.length} float32 values recorded`,
              );
            }
            copyBlobInto(chunk, out, offset);
            offset += chunk.byteLength / 4;
          }
          if (offset !== tensor.length) {
            throw new Error(`${what} is corrupt: expected ${tensor.length} float32 values in ${tensor.chunks} chunks, found ${offset}`);
          }
          tensors[tensor.name] = out;
        }
        return { ...toInfo<Meta>(rows[0]), tensors };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  async list(): Promise<{ id: number; createdAt: number; isCurrent: boolean; catalogGeneration: number }[]> {
    const { rows } = await this.pool.query<{ id: number; created_at: number; is_current: number; catalog_generation: number }>(
      'SELECT id, created_at, is_current, catalog_generation FROM model_versions ORDER BY id',
    );
    return rows.map((row) => ({
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
