/** What the app is built from, and what each router receives (kept apart from app.ts so routers do not import it). */
import type { ModelHolder } from '../serving/modelHolder.js';
import type { Catalog } from '../serving/ports.js';
import type { ServingService } from '../serving/service.js';

export interface AppOptions {
  catalog: Catalog;
  /** Source of the served model snapshot (swapped when a new version is saved). */
  models: Pick<ModelHolder, 'snapshot' | 'require'>;
  /** Name of the tfjs backend in use, reported by /api/health. */
  backend: string;
  /** Folder served at / (default web/dist); null to serve no page. */
  staticDir?: string | null;
  /** Where unexpected errors are reported (default stderr). */
  log?: (line: string) => void;
  /** Memory for cached per-user predictions (default 64 MiB; 0 disables the cache). */
  predictionCacheBytes?: number;
}

/** What the routers receive: the options plus the services built from them once per app. */
export interface AppDeps extends AppOptions {
  serving: ServingService;
}

