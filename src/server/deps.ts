/** What the app is built from, and what each router receives (kept apart from app.ts so routers do not import it). */
import type { ModelHolder } from '../serving/modelHolder.js';
import type { Catalog } from '../serving/ports.js';
import type { ServingService, TopListSource, VisitorScorer } from '../serving/service.js';
import type { TokenVerifier } from './guards.js';
import type { RateLimitCounter } from '../store/index.js';

export interface AppOptions {
  catalog: Catalog;
  /** Source of the served model snapshot (swapped when a new version is saved). */
  models: Pick<ModelHolder, 'snapshot' | 'require' | 'staleness'>;
  /** Checks the API tokens of write requests (TokenStore). */
  tokens: TokenVerifier;
  /**
   * Host header names the server answers to (DNS-rebinding defence). Default: the loopback names
   * (defaultAllowedHosts('127.0.0.1')). null accepts any Host (only behind a proxy that checks it).
   */
  allowedHosts?: readonly string[] | null;
  /** Per-client requests a minute; 0 disables a limit. */
  limits?: Partial<RateLimits>;
  /**
   * Counters shared by every process using the database (Store.rateLimits), for replicas on several
   * machines; absent: each process counts in its own memory.
   */
  sharedRateLimits?: RateLimitCounter;
  /** Development mode: serve source maps. */
  dev?: boolean;
  /** Name of the tfjs backend in use, reported by /api/health. */
  backend: string;
  /** Folder served at / (default web/dist); null to serve no page. */
  staticDir?: string | null;
  /** Where unexpected errors are reported (default stderr). */
  log?: (line: string) => void;
  /** Memory for cached per-user scores (default 64 MiB; 0 disables the cache). */
  predictionCacheBytes?: number;
  /** Precomputed top-N lists of the served snapshot (launch() fills them before a version serves). */
  topLists?: TopListSource;
  /** Worker threads for visitors' costly fold-ins (launch() starts a VisitorPool); absent: all inline. */
  visitorPool?: VisitorScorer;
  /**
   * How long a rating write waits, in all, for another connection's write lock before its 503 (default
   * SERVER_WRITE_LOCK_WAIT_MS). The wait is between timers: the connection's busy_timeout must be 0.
   */
  writeLockWaitMs?: number;
}

export interface RateLimits {
  /** Token-protected writes (POST /api/users/:id/ratings …) per client per minute. */
  writesPerMinute: number;
  /** Anonymous fold-ins (POST /api/recommendations) per client per minute. */
  visitorPerMinute: number;
}

/** What the routers receive: the options plus the services built from them once per app. */
export interface AppDeps extends AppOptions {
  serving: ServingService;
}
