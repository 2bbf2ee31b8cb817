/** `GET /api/model`: the served version's hyperparameters, metrics and training curve (from its meta). */
import { Router } from 'express';
import type { CurvePoint, ModelResponse } from '../../api/types.js';
import type { AppDeps } from '../deps.js';

export function modelRouter({ models }: AppDeps): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    const { versionId, createdAt, meta, model } = models.require();
    const training = meta.training ?? {};
    res.json({
      version: versionId,
      createdAt: new Date(createdAt).toISOString(),
      kind: meta.kind,
      algorithm: model.algorithm,
      ratingLevels: meta.ratingLevels,
      users: model.userIds.length,
      items: model.itemIds.length,
      hyperparameters: { ...meta.config },
      // The RBM trainer records validation RMSE per component (user, item, bias, blend) under `validation`.
      metrics: training.validation ?? null,
      curve: (training.curve as CurvePoint[] | undefined) ?? null,
      // Everything else the trainer recorded (backend, seconds …), passed through as it is.
      training: { ...training },
    } satisfies ModelResponse);
  });
  return router;
}
