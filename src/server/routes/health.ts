/**
 * `GET /api/health`: is the server up, which model it serves (and whether it is stale), how much data, which
 * tfjs backend, how busy the visitor pool is.
 */
import type { Router } from 'express';
import { strictRouter } from '../routing.js';
import type { HealthResponse } from '../../api/types.js';
import type { AppDeps } from '../deps.js';

export function healthRouter({ catalog, models, backend, visitorPool }: AppDeps): Router {
  const router = strictRouter();
  router.get('/', (_req, res) => {
    const snapshot = models.snapshot;
    const stale = snapshot ? models.staleness() : null;
    res.json({
      // 'no_model' and 'stale' are still 200s: the process is healthy; it has nothing to serve yet, or
      // serves a model trained on a catalog an import has changed since (`reason` says which).
      status: snapshot ? (stale ? 'stale' : 'ok') : 'no_model',
      ...(stale ? { reason: stale } : {}),
      model: snapshot
        ? {
            version: snapshot.versionId,
            kind: snapshot.meta.kind,
            algorithm: snapshot.model.algorithm,
            createdAt: new Date(snapshot.createdAt).toISOString(),
          }
        : null,
      data: catalog.counts(),
      backend,
      ratingLevels: snapshot ? [...snapshot.ratingLevels] : null,
      ...(visitorPool ? { visitorPool: visitorPool.stats() } : {}),
    } satisfies HealthResponse);
  });
  return router;
}
