/**
 * A stored user: `GET …/recommendations`, `GET …/predictions`, `GET …/ratings`, `POST …/ratings`.
 * Each handler reads the served model snapshot once (`models.require()`) and passes it down, so one
 * request never mixes two model versions.
 */
import type { Router } from 'express';
import { SERVER_WRITE_LOCK_WAIT_MS } from '../../store/database.js';
import { strictRouter } from '../routing.js';
import type { PredictionsResponse, RateResponse, UserRatingsResponse, UserRecommendationsResponse } from '../../api/types.js';
import type { AppDeps } from '../deps.js';
import { parseGenreQuery, parseRankByQuery, parseId, parseItemListQuery, parseLimitQuery, parseRatingBody } from '../validation.js';

export function usersRouter({ catalog, models, serving, writeLockWaitMs }: AppDeps): Router {
  const router = strictRouter();
  router.get('/:userId/recommendations', async (req, res) => {
    const snapshot = models.require();
    const userId = parseId(req.params.userId, 'userId');
    await catalog.refreshUser?.(userId);
    const limit = parseLimitQuery(req.query, 10);
    const genre = req.query.genre === undefined ? undefined : parseGenreQuery(req.query, catalog.genres());
    // A user with many ratings is answered by the pool (a worker thread), the event loop stays free.
    const items = await serving.recommendForUserOffLoop(snapshot, userId, limit, genre, parseRankByQuery(req.query));
    res.json({ userId, items } satisfies UserRecommendationsResponse);
  });
  router.get('/:userId/predictions', async (req, res) => {
    const snapshot = models.require();
    const userId = parseId(req.params.userId, 'userId');
    await catalog.refreshUser?.(userId);
    const itemIds = parseItemListQuery(req.query);
    res.json({ userId, predictions: serving.predictForUser(snapshot, userId, itemIds) } satisfies PredictionsResponse);
  });
  router.get('/:userId/ratings', async (req, res) => {
    const userId = parseId(req.params.userId, 'userId');
    await catalog.refreshUser?.(userId);
    res.json({ userId, ratings: serving.userRatings(userId) } satisfies UserRatingsResponse);
  });
  // A write: app.ts has checked the API token and the client's write rate before this runs.
  router.post('/:userId/ratings', async (req, res) => {
    // The scale a rating must be on is the served model's: a value it has no softmax unit for could not
    // be folded in.
    const snapshot = models.require();
    const userId = parseId(req.params.userId, 'userId');
    const { itemId, rating } = parseRatingBody(req.body, snapshot.ratingLevels);
    // Waits for another writer's lock between timers, never on the event loop (503 when it lasts).
    const stored = await serving.rateWhenFree(userId, itemId, rating, writeLockWaitMs ?? SERVER_WRITE_LOCK_WAIT_MS);
    res.status(201).json(stored satisfies RateResponse);
  });
  return router;
}
