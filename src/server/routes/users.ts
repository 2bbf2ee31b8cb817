/**
 * A stored user: `GET …/recommendations`, `GET …/predictions`, `GET …/ratings`, `POST …/ratings`.
 * Each handler reads the served model snapshot once (`models.require()`) and passes it down, so one
 * request never mixes two model versions.
 */
import { Router } from 'express';
import type { AppDeps } from '../app.js';
import { parseGenreQuery, parseId, parseItemListQuery, parseLimitQuery, parseRatingBody } from '../validation.js';

export function usersRouter({ catalog, models, recommender }: AppDeps): Router {
  const router = Router();
  router.get('/:userId/recommendations', (req, res) => {
    const snapshot = models.require();
    const userId = parseId(req.params.userId, 'userId');
    const limit = parseLimitQuery(req.query, 10);
    const genre = req.query.genre === undefined ? undefined : parseGenreQuery(req.query, catalog.genres());
    res.json({ userId, items: recommender.recommendForUser(snapshot, userId, limit, genre) });
  });
  router.get('/:userId/predictions', (req, res) => {
    const snapshot = models.require();
    const userId = parseId(req.params.userId, 'userId');
    const itemIds = parseItemListQuery(req.query);
    res.json({ userId, predictions: recommender.predictForUser(snapshot, userId, itemIds) });
  });
  router.get('/:userId/ratings', (req, res) => {
    const userId = parseId(req.params.userId, 'userId');
    res.json({ userId, ratings: recommender.userRatings(userId) });
  });
  // A write: app.ts has checked the API token and the client's write rate before this runs.
  router.post('/:userId/ratings', (req, res) => {
    // The scale a rating must be on is the served model's: a value it has no softmax unit for could not
    // be folded in.
    const snapshot = models.require();
    const userId = parseId(req.params.userId, 'userId');
    const { itemId, rating } = parseRatingBody(req.body, snapshot.ratingLevels);
    res.status(201).json(recommender.rate(userId, itemId, rating));
  });
  return router;
}
