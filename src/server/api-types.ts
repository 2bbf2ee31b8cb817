/**
 * JSON shapes of the model-insight endpoints (`GET /api/model/hidden`, `…/hidden/activations`,
 * `GET /api/model/explain`), in one place: the server builds them and the page (web/src/api.ts) imports
 * them as types, so the two cannot drift apart.
 */

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
