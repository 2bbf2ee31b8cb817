/**
 * The model-insight answers behind `GET /api/model/hidden`, `…/hidden/activations` and `GET /api/model/explain`:
 * the pure computations of src/rbm/hiddenUnits.ts fed from the served snapshot, with catalog titles added.
 *
 * The hidden-unit summary costs one pass over W (V·K·F) and is the same for every request on a model
 * version, so it is computed once per snapshot and kept in a WeakMap keyed by the (immutable) snapshot:
 * it goes away with the version it describes, and a swapped-in version gets its own on first request.
 * The explain view's worked sample (a fold-in, the served prediction, the free energies: tens of ms at
 * MovieLens sizes) is kept the same way, per user and their exact ratings, so repeated requests cost a
 * lookup and a rating posted since is a new key.
 */
import type { KnownRatings } from '../data/dataset.js';
import type { ModelState, TrainingSummary } from '../model/index.js';
import { summariseHiddenUnits, unitActivations, workedPrediction } from '../rbm/hiddenUnits.js';
import type { RbmParams } from '../rbm/params.js';
import type {
  ExplainSample,
  HiddenUnitsResponse,
  ModelExplainResponse,
  RbmSettings,
  UnitActivationInfo,
  UnitActivationsResponse,
  UnitMovie,
} from '../api/types.js';
import type { RatingInput as RatedItem } from '../api/types.js';
import { NotFoundError } from './errors.js';
import type { ModelSnapshot } from './modelHolder.js';
import { roundScore } from './answers.js';
import { toKnownRatings } from './inputs.js';
import type { ServingService as RecommendationService } from './service.js';

/** Movies listed per unit and direction. */
export const MOVIES_PER_UNIT = 8;
/** Units listed in the explain view's sample. */
const SAMPLE_UNITS = 3;
/** Stored users tried, in model order, for the explain view's sample when none is asked for. */
const SAMPLE_USER_TRIES = 50;

const round4 = roundScore;

/** Worked samples kept per model version (each a few hundred bytes); the oldest goes first. */
const SAMPLES_KEPT = 1000;

interface VersionInsight {
  state: ModelState;
  userRbm: RbmParams | null;
  hidden: HiddenUnitsResponse | null;
  /** Worked samples by `userId|itemId:rating,…` (every stored rating: the sample depends on all of them). */
  samples: Map<string, ExplainSample>;
}

const insights = new WeakMap<ModelSnapshot, VersionInsight>();

function insightOf(snapshot: ModelSnapshot): VersionInsight {
  let insight = insights.get(snapshot);
  if (!insight) {
    // toState() hands out the model's own tensors (no copy), read-only here.
    const state = snapshot.model.toState();
    insight = { state, userRbm: userRbmFromState(state), hidden: null, samples: new Map() };
    insights.set(snapshot, insight);
  }
  return insight;
}

function requireUserRbm(snapshot: ModelSnapshot): RbmParams {
  const params = insightOf(snapshot).userRbm;
  if (!params) {
    throw new NotFoundError(
      `the served model (version ${snapshot.versionId}, kind "${snapshot.meta.kind}") has no user-oriented RBM, so it has no movie-facing hidden units to show; train with --orientation both or user`,
    );
  }
  return params;
}

/** Every hidden unit of the served user RBM with the movies that switch it on and off (once per version). */
export function hiddenUnits(snapshot: ModelSnapshot): HiddenUnitsResponse {
  const params = requireUserRbm(snapshot);
  const insight = insightOf(snapshot);
  if (insight.hidden) return insight.hidden;
  const summary = summariseHiddenUnits(params, snapshot.ratingLevels, itemTrainCountFromState(insight.state), { perUnit: MOVIES_PER_UNIT });
  const movie = (item: number, delta: number): UnitMovie => {
    const record = snapshot.itemRecords[item];
    return { itemId: snapshot.meta.itemIds[item], title: record?.title ?? null, year: record?.year ?? null, delta: round4(delta) };
  };
  insight.hidden = {
    version: snapshot.versionId,
    orientation: 'user',
    hidden: summary.hidden,
    ratingLevels: [...snapshot.ratingLevels],
    minRatings: summary.minRatings,
    moviesConsidered: summary.itemsConsidered,
    units: summary.units.map((u) => ({
      unit: u.unit,
      baseRate: round4(u.baseRate),
      strength: round4(u.strength),
      on: u.on.map((x) => movie(x.item, x.delta)),
      off: u.off.map((x) => movie(x.item, x.delta)),
    })),
  };
  return insight.hidden;
}

/** The units that `ratings` (a stored user's when userId is given, else a visitor's) switch on most. */
export function hiddenActivations(
  snapshot: ModelSnapshot,
  ratings: readonly RatedItem[],
  userId: number | null,
  limit: number,
): UnitActivationsResponse {
  const params = requireUserRbm(snapshot);
  const known = toKnownRatings(snapshot, ratings);
  return { version: snapshot.versionId, userId, ratingsUsed: known.items.length, units: activationInfo(params, known, limit) };
}

function activationInfo(params: RbmParams, known: KnownRatings, limit: number): UnitActivationInfo[] {
  return unitActivations(params, known, limit).map((a) => ({
    unit: a.unit,
    probability: round4(a.probability),
    baseRate: round4(a.baseRate),
    lift: round4(a.lift),
  }));
}

function rbmSettings(shape: { hidden: number; visibles: number } | null, options: unknown): RbmSettings | null {
  if (!shape) return null;
  const record = typeof options === 'object' && options !== null && !Array.isArray(options) ? (options as Record<string, unknown>) : null;
  return { hidden: shape.hidden, visibles: shape.visibles, options: record };
}

/** The last epoch recorded per training phase in the curve. */
function epochsRun(training: TrainingSummary | undefined): Record<string, number> | null {
  const curve = training?.curve;
  if (!curve || curve.length === 0) return null;
  const out: Record<string, number> = {};
  for (const point of curve) out[point.phase] = Math.max(out[point.phase] ?? 0, point.epoch);
  return out;
}

/**
 * The numbers the "How it works" view shows: F, K, training settings, and one stored user worked through:
 * the free energy of their ratings, and the prediction for the movie most rated in training among those
 * they have not rated. `userId` picks the user; by default the first stored user (in model order) who has
 * ratings.
 */
export function explainModel(snapshot: ModelSnapshot, recommender: RecommendationService, userId?: number): ModelExplainResponse {
  const insight = insightOf(snapshot);
  const { state, userRbm } = insight;
  const { meta } = snapshot;
  const config = meta.kind === 'rbm' ? meta.config : meta.kind === 'watch-like' ? meta.config.rating : null;
  // The item RBM's visible units are the training users; its F is the length of its hidden biases.
  const itemHiddenBiases = state.tensors['item.c'];
  const itemRbm = itemHiddenBiases ? { hidden: itemHiddenBiases.length, visibles: state.meta.userIds.length } : null;
  const mixture = config ? { ...config.mixture } : undefined;
  const counts = itemTrainCountFromState(state);
  return {
    version: snapshot.versionId,
    kind: snapshot.meta.kind,
    ratingLevels: [...snapshot.ratingLevels],
    levels: snapshot.ratingLevels.length,
    users: snapshot.model.userIds.length,
    items: snapshot.model.itemIds.length,
    userRbm: rbmSettings(userRbm, config?.user),
    itemRbm: rbmSettings(itemRbm, config?.item),
    mixture: mixture ?? null,
    trainingRatings: counts ? counts.reduce((sum, n) => sum + n, 0) : null,
    epochsRun: epochsRun(snapshot.meta.training),
    sample: userRbm ? explainSample(snapshot, insight.samples, recommender, userRbm, counts, userId) : null,
  };
}

function explainSample(
  snapshot: ModelSnapshot,
  samples: Map<string, ExplainSample>,
  recommender: RecommendationService,
  params: RbmParams,
  itemTrainCount: Float32Array | null,
  userId: number | undefined,
): ExplainSample | null {
  const candidates = userId !== undefined ? [userId] : snapshot.meta.userIds.slice(0, SAMPLE_USER_TRIES);
  for (const candidate of candidates) {
    // userRatings throws 404 for an unknown user: right when one was asked for, impossible otherwise.
    const stored = recommender.userRatings(candidate);
    const rated = stored.map((r) => ({ itemId: r.itemId, rating: r.rating }));
    const key = `${candidate}|${rated.map((r) => `${r.itemId}:${r.rating}`).join(',')}`;
    const kept = samples.get(key);
    if (kept) return kept;
    const known = toKnownRatings(snapshot, rated);
    if (known.items.length === 0) {
      if (userId !== undefined)
        throw new NotFoundError(`user ${userId} has no ratings the served model knows, so there is nothing to work through`);
      continue;
    }
    const ratedSet = new Set(known.items);
    let movie = -1;
    for (let i = 0; i < params.visibles; i++) {
      if (ratedSet.has(i) || snapshot.itemRecords[i] === null) continue;
      if (movie < 0 || (itemTrainCount !== null && itemTrainCount[i] > itemTrainCount[movie])) movie = i;
    }
    if (movie < 0) continue; // they rated every movie: nothing left to predict
    const worked = workedPrediction(params, known, movie, snapshot.ratingLevels);
    const itemId = snapshot.meta.itemIds[movie];
    const [served] = recommender.predictForUser(snapshot, candidate, [itemId]);
    const servedDistribution = served.distribution ?? worked.distribution;
    const mean = rated.reduce((sum, r) => sum + r.rating, 0) / rated.length;
    const likedIndex = Math.max(
      0,
      snapshot.ratingLevels.findIndex((level) => level >= mean - 1e-9),
    );
    const record = snapshot.itemRecords[movie];
    const sample: ExplainSample = {
      userId: candidate,
      ratingsUsed: known.items.length,
      freeEnergy: round4(worked.freeEnergy),
      mirroredFreeEnergy: round4(worked.mirroredFreeEnergy),
      activeUnits: round4(worked.activeUnits),
      topUnits: activationInfo(params, known, SAMPLE_UNITS),
      movie: { itemId, title: record?.title ?? null, year: record?.year ?? null },
      userRbm: { distribution: worked.distribution.map(round4), expected: round4(worked.expected) },
      served: { distribution: servedDistribution.map(round4), expected: round4(served.predicted ?? worked.expected) },
      likedLevel: snapshot.ratingLevels[likedIndex],
      pLiked: round4(servedDistribution.slice(likedIndex).reduce((a, b) => a + b, 0)),
    };
    if (samples.size >= SAMPLES_KEPT) samples.delete(samples.keys().next().value as string);
    samples.set(key, sample);
    return sample;
  }
  return null;
}

/** The user-oriented RBM stored in a model state ("user.W", "user.b", "user.c"), or null if it has none. */
export function userRbmFromState(state: ModelState): RbmParams | null {
  const { W, b, c } = { W: state.tensors['user.W'], b: state.tensors['user.b'], c: state.tensors['user.c'] };
  if (!W || !b || !c) return null;
  const V = state.meta.itemIds.length;
  const K = state.meta.ratingLevels.length;
  const F = c.length;
  if (b.length !== V * K || W.length !== V * K * F) {
    throw new Error(
      `the stored user RBM's tensors do not match ${V} items × ${K} levels × ${F} hidden units (W ${W.length}, b ${b.length})`,
    );
  }
  return { visibles: V, levels: K, hidden: F, W, b, c };
}

/** Training ratings per item as stored with the model ("itemTrainCount"), or null when absent. */
export function itemTrainCountFromState(state: ModelState): Float32Array | null {
  return state.tensors.itemTrainCount ?? null;
}
