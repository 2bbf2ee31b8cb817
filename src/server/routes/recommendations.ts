/** `POST /api/recommendations`: recommendations for a visitor who is not stored, from posted ratings. */
import type { Router } from 'express';
import { strictRouter } from '../routing.js';
import type { RecommendationsResponse } from '../../api/types.js';
import type { AppDeps } from '../deps.js';
import { matchGenre, parseRankByQuery, parseVisitorBody } from '../validation.js';

export function recommendationsRouter({ catalog, models, serving }: AppDeps): Router {
  const router = strictRouter();
  router.post('/', async (req, res) => {
    const snapshot = models.require();
    const body = parseVisitorBody(req.body, snapshot.ratingLevels);
    const genre = body.genre === undefined ? undefined : matchGenre(body.genre, catalog.genres());
    const { ratings, limit } = body;
    // A costly fold-in is answered by the visitor pool (a worker thread), the event loop stays free.
    const items = await serving.recommendForVisitorOffLoop(snapshot, ratings, { limit, genre, rankBy: parseRankByQuery(req.query) });
    res.json({ items } satisfies RecommendationsResponse);
  });
  return router;
}
