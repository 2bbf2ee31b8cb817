/**
 * The HTTP API's request and response bodies, in one module imported by the server (which builds them)
 * and by the web page (which reads them), so a renamed field fails type-checking on both sides. Types
 * only: nothing here runs.
 */
import type { ItemRecord } from '../data/catalog.js';

/** A catalog item. */
export type Item = ItemRecord;

/** The `{"error":{"code","message"}}` body of every 4xx/5xx answer. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** A recommended item. */
export interface ScoredItem extends Item {
  /**
   * Ranking score of the served algorithm (higher first): for rating models the expected rating, for
   * ranking models the chance the user would watch and like it.
   */
  score: number;
  /** Expected rating Σ_k p_k · level_k; null for an algorithm that does not predict ratings. */
  predicted: number | null;
  /** p(rating = level_k), one probability per rating level (length K); null as `predicted`. */
  distribution: number[] | null;
}

export interface HealthResponse {
  /** "ok", or "no_model" while the server has nothing to serve yet. */
  status: string;
  model: { version: number; kind: string; algorithm: string; createdAt: string } | null;
  data: { users: number; items: number; ratings: number };
  backend: string;
  /** The served model's rating scale, e.g. [1, 2, 3, 4, 5]; null without a model. */
  ratingLevels: number[] | null;
}

export interface ItemPage {
  items: Item[];
  total: number;
  limit: number;
  offset: number;
}

export interface GenresResponse {
  genres: string[];
}

/** A rating as posted by a visitor or a stored user. */
export interface RatingInput {
  itemId: number;
  rating: number;
}

export interface VisitorRecommendationsRequest {
  ratings: RatingInput[];
  limit?: number;
  genre?: string;
}

export interface RecommendationsResponse {
  items: ScoredItem[];
}

export interface UserRecommendationsResponse extends RecommendationsResponse {
  userId: number;
}

export interface UserRating extends Omit<Item, 'title'> {
  /** Null for a rating of an item since removed from the catalog. */
  title: string | null;
  rating: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

export interface UserRatingsResponse {
  userId: number;
  ratings: UserRating[];
}

export interface Prediction {
  itemId: number;
  /** Null when the served model cannot predict it (an item added after training, or a ranking-only model). */
  predicted: number | null;
  distribution: number[] | null;
  actual: number | null;
}

export interface PredictionsResponse {
  userId: number;
  predictions: Prediction[];
}

export interface RateResponse {
  userId: number;
  itemId: number;
  rating: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

export interface CurvePoint {
  phase: string;
  epoch: number;
  cdSteps?: number;
  trainRmse: number;
  validationRmse: number | null;
  seconds?: number;
}

/**
 * `GET /api/model`. The hyperparameters and training record are what the trainer wrote for the model's
 * kind, so the page renders them generically and relies only on the curve's point shape.
 */
export interface ModelResponse {
  version: number;
  /** ISO 8601. */
  createdAt: string;
  kind: string;
  algorithm: string;
  ratingLevels: number[];
  users: number;
  items: number;
  hyperparameters: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  curve: CurvePoint[] | null;
  training: Record<string, unknown> | null;
}
