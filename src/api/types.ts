/**
 * The HTTP API's request and response bodies, in one module imported by the server (which builds them)
 * and by the web page (which reads them), so a renamed field fails type-checking on both sides. Types
 * only: nothing here runs.
 */
import type { ItemRecord } from '../data/catalog.js';

/** A catalog item. */
export type Item = ItemRecord;

/** What went wrong, in `ErrorBody.error.code` (the HTTP status says whose fault it was). */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'unknown_user'
  | 'unknown_item'
  | 'model_unavailable'
  | 'too_many_ratings'
  | 'unauthorized'
  | 'invalid_token'
  | 'misdirected_request'
  | 'rate_limited'
  | 'database_busy'
  | 'database_unavailable'
  | 'server_busy'
  | 'internal_error';

/**
 * The `{"error":{"code","message"}}` body of every 4xx/5xx answer: written by server/errors.ts, read by
 * the page (web/src/api.ts), declared once here.
 */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
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
  /**
   * The user's ratings that raised this item's ranking score the most: at most 3, largest influence
   * first, only those that stand out (removing one lowers the score by ≥ 1 % of it); empty when none does
   * or the served algorithm cannot tell.
   */
  because: BecauseItem[];
}

/** One of the user's ratings behind a recommendation. */
export interface BecauseItem {
  itemId: number;
  /** Null for an item since removed from the catalog. */
  title: string | null;
  /** The user's rating of it. */
  rating: number;
  /** score(item | all the user's ratings) − score(item | the same ratings without this one), > 0. */
  influence: number;
  /**
   * Which part of the score = p(watch) · p(like) the rating raised: "watch" (people who watched it watch
   * this), "like" (people who rated it so rate this high), or "both". Reasons raising both come first.
   * Models whose score is a single part name it ("watch" for the implicit RBM, "like" for a rating model).
   */
  raises: 'watch' | 'like' | 'both';
  /** Whether the user's rating is at or above the "liked" level (4 on 1–5 stars), the level p(like) counts. */
  liked: boolean;
}

export interface HealthResponse {
  /** "ok", or "no_model" while the server has nothing to serve yet. */
  status: string;
  model: { version: number; kind: string; algorithm: string; createdAt: string } | null;
  data: { users: number; items: number; ratings: number };
  backend: string;
  /** The served model's rating scale, e.g. [1, 2, 3, 4, 5]; null without a model. */
  ratingLevels: number[] | null;
  /** Worker threads answering visitors' costly fold-ins, when the server runs them (absent: all inline). */
  visitorPool?: VisitorPoolStats;
}

/** The visitor pool's occupancy: a request beyond `workers` running and `queueLimit` queued gets a 503. */
export interface VisitorPoolStats {
  workers: number;
  running: number;
  queued: number;
  queueLimit: number;
  /** Posted ratings from which a request goes to the pool (fewer: answered inline). */
  minRatings: number;
  /** A stored user's ratings from which their recommendations are computed in the pool (fewer: inline). */
  minStoredRatings: number;
}

/** `GET /api/items?search=&genre=&sort=&limit=&offset=`. */
export interface ItemPage {
  items: Item[];
  total: number;
  limit: number;
  offset: number;
  /**
   * The order: "title" (the default; titles starting with the search first, then alphabetical),
   * "popular" (most-rated, each page of 20 spread across genres and decades) or "rating" (highest damped
   * mean rating, movies with few ratings after). See docs/page.md.
   */
  sort: ItemSort;
}

export type ItemSort = 'popular' | 'rating' | 'title';

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

// The model-insight endpoints (`GET /api/model/hidden`, `…/hidden/activations`, `GET /api/model/explain`).

/** A movie in a hidden unit's list. */
export interface UnitMovie {
  itemId: number;
  title: string | null;
  year: number | null;
  /** Δ: change of the movie's expected rating (stars) when the unit switches on, the others at their base rates. */
  delta: number;
}

export interface HiddenUnitInfo {
  /** 0 … F−1. */
  unit: number;
  /** σ(c_j): probability the unit is on before any rating is seen. */
  baseRate: number;
  /** Root mean square of Δ over the listed-eligible movies: how much the unit moves predictions. */
  strength: number;
  /** Movies whose high ratings switch the unit on (and which it predicts high), strongest first. */
  on: UnitMovie[];
  /** Movies whose high ratings switch it off (and which it predicts low), strongest first. */
  off: UnitMovie[];
}

/** `GET /api/model/hidden`. */
export interface HiddenUnitsResponse {
  version: number;
  /** The RBM whose units these are: the user-oriented one (items are its visible units). */
  orientation: 'user';
  /** F. */
  hidden: number;
  ratingLevels: number[];
  /** Movies with fewer training ratings are not listed. */
  minRatings: number;
  moviesConsidered: number;
  units: HiddenUnitInfo[];
}

export interface UnitActivationInfo {
  unit: number;
  /** p(h_j = 1 | the ratings). */
  probability: number;
  /** σ(c_j). */
  baseRate: number;
  /** probability − baseRate. */
  lift: number;
}

/** `GET /api/model/hidden/activations?user=…` and `POST /api/model/hidden/activations`. */
export interface UnitActivationsResponse {
  version: number;
  /** The stored user, or null for posted (visitor) ratings. */
  userId: number | null;
  /** Ratings the model could use (movies it knows). */
  ratingsUsed: number;
  /** The units the ratings switched on most, largest lift first. */
  units: UnitActivationInfo[];
}

export interface RbmSettings {
  /** F. */
  hidden: number;
  /** Visible softmax units: movies for the user RBM, users for the item RBM. */
  visibles: number;
  /** Everything the trainer recorded for this orientation (epochs, lr, cdSchedule, momentum, …). */
  options: Record<string, unknown> | null;
}

/** `GET /api/model/explain`: the served model's own numbers for the "How it works" view. */
export interface ModelExplainResponse {
  version: number;
  kind: string;
  ratingLevels: number[];
  /** K. */
  levels: number;
  users: number;
  items: number;
  userRbm: RbmSettings | null;
  itemRbm: RbmSettings | null;
  /** Weights of the convex mixture of predicted distributions (user RBM, item RBM, bias baseline). */
  mixture: Record<string, number> | null;
  /** Ratings the model was trained on (Σ over movies of their training ratings), null if not recorded. */
  trainingRatings: number | null;
  /** Training epochs actually run per phase (early stopping may end before the maximum). */
  epochsRun: Record<string, number> | null;
  sample: ExplainSample | null;
}

/** One stored user worked through the user RBM, and one movie they have not rated predicted for them. */
export interface ExplainSample {
  userId: number;
  ratingsUsed: number;
  /** F(V) of their ratings; lower = more probable under the model. */
  freeEnergy: number;
  /** F(V) of the same movies with each rating mirrored on the scale (1 ↔ 5, 2 ↔ 4). */
  mirroredFreeEnergy: number;
  /** Σ_j p(h_j = 1 | V). */
  activeUnits: number;
  /** The hidden units their ratings switch on most (largest p(h_j = 1 | V) − σ(c_j) first). */
  topUnits: UnitActivationInfo[];
  movie: { itemId: number; title: string | null; year: number | null };
  /** The user RBM's p(v_i = k | p̂). */
  userRbm: { distribution: number[]; expected: number };
  /** The served model's prediction (the blend, when the model is one). */
  served: { distribution: number[]; expected: number };
  /** Smallest rating level at or above the user's mean rating: "liked" for this illustration. */
  likedLevel: number;
  /** Served p(rating ≥ likedLevel). */
  pLiked: number;
}
