/**
 * The PostgreSQL engine behind the Store interface: one Pool per process, migrations applied at open,
 * the catalog, model versions, tokens, shared rate-limit counters and the LISTEN/NOTIFY change feed.
 */
import { migratePostgres } from './migrate.js';
import { PostgresCatalog } from './catalog.js';
import { ChangeListener } from './listener.js';
import { PostgresModels, POSTGRES_CHUNK_BYTES } from './models.js';
import { createPool, type Pool, type PoolOptions } from './pool.js';
import { postgresTokens } from './tokens.js';
import type { RateLimitCounter, Store, StoreChange, StoreWatch } from '../store.js';
import { redactUrl } from '../target.js';

export { CHANNEL } from './channel.js';
export { parseChange } from './listener.js';

export interface PostgresStoreOptions extends PoolOptions {
  /** Model tensors' chunk size in bytes (default 16 MiB). */
  chunkBytes?: number;
  /** Where the change feed reports lost and regained connections. */
  log?: (line: string) => void;
}

export class PostgresStore<Meta = unknown> implements Store<Meta> {
  readonly engine = 'postgres' as const;
  readonly location: string;
  readonly catalog: PostgresCatalog;
  readonly models: PostgresModels<Meta>;
  readonly tokens: Store['tokens'];
  readonly rateLimits: RateLimitCounter;
  private readonly listeners = new Set<ChangeListener>();

  private constructor(
    readonly pool: Pool,
    private readonly url: string,
    private readonly options: PostgresStoreOptions,
  ) {
    this.location = redactUrl(url);
    this.catalog = new PostgresCatalog(pool);
    this.models = new PostgresModels<Meta>(pool, options.chunkBytes ?? POSTGRES_CHUNK_BYTES);
    this.tokens = postgresTokens(pool);
    this.rateLimits = {
      // One statement: the count and the window move together, whichever replica the request reached.
      hit: async (key, windowMs) => {
        const now = Date.now();
        const { rows } = await pool.query<{ hits: number; reset_at: number }>(
          `INSERT INTO rate_limit_hits (key, hits, reset_at) VALUES ($1, 1, $2)
           ON CONFLICT (key) DO UPDATE SET
             hits = CASE WHEN rate_limit_hits.reset_at <= $3 THEN 1 ELSE rate_limit_hits.hits + 1 END,
             reset_at = CASE WHEN rate_limit_hits.reset_at <= $3 THEN excluded.reset_at ELSE rate_limit_hits.reset_at END
           RETURNING hits, reset_at`,
          [key, now + windowMs, now],
        );
        return { hits: rows[0].hits, resetAt: rows[0].reset_at };
      },
      takeBack: async (key) => void (await pool.query('UPDATE rate_limit_hits SET hits = GREATEST(0, hits - 1) WHERE key = $1', [key])),
      reset: async (key) => void (await pool.query('DELETE FROM rate_limit_hits WHERE key = $1', [key])),
    };
  }

  /** Connects, checks the server answers, and brings the schema up to date. */
  static async open<Meta = unknown>(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore<Meta>> {
    const pool = createPool(url, options);
    try {
      await migratePostgres(pool);
    } catch (error) {
      await pool.end().catch(() => {});
      throw new Error(`could not open the PostgreSQL database ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
    }
    return new PostgresStore<Meta>(pool, url, options);
  }

  /**
   * LISTEN/NOTIFY on a dedicated connection (listener.ts). The first connection is made in the
   * background; `resync` is reported after every reconnection.
   */
  watch(listener: (change: StoreChange) => void): StoreWatch {
    const feed = new ChangeListener(this.url, listener, this.options.log);
    this.listeners.add(feed);
    const ready = feed.start().catch(async (error: unknown) => {
      this.options.log?.(`change feed: could not listen (${(error as Error).message}); retrying`);
      // The first attempt failed: keep trying as after a lost connection, and resync once back.
      for (let wait = 250; this.listeners.has(feed); wait = Math.min(5000, wait * 2)) {
        await new Promise((resolve) => setTimeout(resolve, wait).unref());
        try {
          await feed.start();
          listener({ kind: 'resync' });
          return;
        } catch {
          // still down
        }
      }
    });
    return {
      ready,
      stop: () => {
        this.listeners.delete(feed);
        void feed.stop();
      },
    };
  }

  async close(): Promise<void> {
    for (const feed of this.listeners) await feed.stop();
    this.listeners.clear();
    await this.pool.end();
  }
}

export function openPostgresStore<Meta = unknown>(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore<Meta>> {
  return PostgresStore.open<Meta>(url, options);
}
