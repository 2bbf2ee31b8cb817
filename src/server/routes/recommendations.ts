/** `POST /api/recommendations`: recommendations for a visitor who is not stored, from posted ratings. */
import { Router } from 'express';
import type { RecommendationsResponse } from '../../api/types.js';
import type { AppDeps } from '../deps.js';
import { matchGenre, parseRankByQuery, parseVisitorBody } from '../validation.js';

export function recommendationsRouter({ catalog, models, serving }: AppDeps): Router {
  const router = Router();
  router.post('/', (req, res) => {
    const snapshot = models.require();
    const body = parseVisitorBody(req.body, snapshot.ratingLevels);
    const genre = body.genre === undefined ? undefined : matchGenre(body.genre, catalog.genres());
    const { ratings, limit } = body;
    res.json({
      items: serving.recommendForVisitor(snapshot, ratings, limit, genre, parseRankByQuery(req.query)),
    } satisfies RecommendationsResponse);
  });
  return router;
}
