/**
 * The model version source of a serving replica over a database server: ModelHolder reads its source
 * synchronously (`currentId`, `load`), so the version is fetched from the store beforehand (`refresh`,
 * run on every `model:<id>` notification, after a lost feed reconnects, and every few seconds as a
 * safety net) and handed over from memory. Once the holder has taken it, the tensors are dropped here:
 * only the model built from them stays in memory.
 */
import type { ModelMeta } from '../model/index.js';
import type { ModelRepository } from '../store/index.js';
import type { ModelVersionSource, StoredModelVersion } from './ports.js';

export class ModelMirror implements ModelVersionSource {
  private currentValue: number | null = null;
  private readonly fetched = new Map<number, StoredModelVersion>();
  private running: Promise<boolean> | null = null;

  constructor(
    private readonly models: ModelRepository<ModelMeta>,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /**
   * Looks up the current version in the store and fetches it if it is new. Resolves true when the
   * current id changed. Never rejects: a failure is logged and tried again at the next call.
   */
  refresh(): Promise<boolean> {
    this.running ??= (async () => {
      try {
        const id = await this.models.currentId();
        if (id === this.currentValue) return false;
        if (id !== null && !this.fetched.has(id)) await this.prefetch(id);
        this.currentValue = id;
        return true;
      } catch (error) {
        this.log(`model version check failed (${(error as Error).message}); trying again shortly`);
        return false;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Fetches version `id` (current or not: the start-up fallback serves older ones) so that `load` can hand it over. */
  async prefetch(id: number): Promise<void> {
    const version = await this.models.load(id);
    this.fetched.set(id, {
      id: version.id,
      createdAt: version.createdAt,
      meta: version.meta,
      tensors: version.tensors,
      catalogGeneration: version.catalogGeneration,
    });
  }

  currentId(): number | null {
    return this.currentValue;
  }

  load(id: number): StoredModelVersion {
    const version = this.fetched.get(id);
    if (!version) throw new Error(`model version ${id} has not been fetched from the database yet`);
    this.fetched.delete(id);
    return version;
  }
}
