/** `GET /api/health`: is the server up, which model it serves, how much data, which tfjs backend. */
import { Router } from 'express';
import type { HealthResponse } from '../../api/types.js';
import type { AppDeps } from '../deps.js';

export function healthRouter({ catalog, models, backend }: AppDeps): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    const snapshot = models.snapshot;
    res.json({
      // 'no_model' is still a 200: the process is healthy, it just has nothing to serve yet.
      status: snapshot ? 'ok' : 'no_model',
      model: snapshot
        ? { version: snapshot.versionId, kind: snapshot.meta.kind, algorithm: snapshot.model.algorithm, createdAt: new Date(snapshot.createdAt).toISOString() }
        : null,
      data: catalog.counts(),
      backend,
      ratingLevels: snapshot ? [...snapshot.ratingLevels] : null,
    } satisfies HealthResponse);
  });
  return router;
}
