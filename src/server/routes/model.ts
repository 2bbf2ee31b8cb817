/**
 * `GET /api/model`: the served version's hyperparameters, metrics and training curve (from its meta).
 * `GET /api/model/hidden`: each hidden unit of the user RBM with the movies that switch it on and off.
 * `GET /api/model/hidden/activations?user=ID` / `POST …/activations {"ratings"}`: the units a stored user's
 * or a visitor's ratings switch on most.
 * `GET /api/model/explain[?user=ID]`: the numbers of the "How it works" view.
 */
import type { Router } from 'express';
import { strictRouter } from '../routing.js';
import type { CurvePoint, ModelResponse } from '../../api/types.js';
import type { AppDeps } from '../deps.js';
import { explainModel, hiddenActivations, hiddenUnits } from '../../serving/modelInsight.js';
import { parseHiddenActivationsBody, parseLimitQuery, parseOptionalIdQuery, parseRequiredIdQuery } from '../validation.js';

/** Units listed by the activation endpoints unless `limit` says otherwise. */
const DEFAULT_ACTIVATIONS = 5;

export function modelRouter({ models, serving }: AppDeps): Router {
  const router = strictRouter();
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
  router.get('/hidden', (_req, res) => {
    res.json(hiddenUnits(models.require()));
  });
  router.get('/hidden/activations', (req, res) => {
    const snapshot = models.require();
    const userId = parseRequiredIdQuery(req.query, 'user');
    const limit = parseLimitQuery(req.query, DEFAULT_ACTIVATIONS);
    const ratings = serving.userRatings(userId).map((r) => ({ itemId: r.itemId, rating: r.rating }));
    res.json(hiddenActivations(snapshot, ratings, userId, limit));
  });
  router.post('/hidden/activations', (req, res) => {
    const snapshot = models.require();
    const { ratings, limit } = parseHiddenActivationsBody(req.body, snapshot.ratingLevels, DEFAULT_ACTIVATIONS);
    res.json(hiddenActivations(snapshot, ratings, null, limit));
  });
  router.get('/explain', (req, res) => {
    const snapshot = models.require();
    res.json(explainModel(snapshot, serving, parseOptionalIdQuery(req.query, 'user')));
  });
  return router;
}
