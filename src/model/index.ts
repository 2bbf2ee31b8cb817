/** The model layer's public surface: the protocol, the registry, and the stored-state types. */
export type {
  Algorithm,
  BoundedUser,
  EpochReport,
  FitHooks,
  Influence,
  ItemScorer,
  ItemScores,
  RbmCheckpoints,
  KnownRatings,
  StoredKind,
  TrainedModel,
  UserInput,
  UserScores,
} from './protocol.js';
export { BECAUSE_MAX, BECAUSE_MIN_SHARE } from './explain.js';
export type { ModelState, StoredMeta, TrainingSummary } from './meta.js';
export { ModelMetaError } from './meta.js';
export {
  ALGORITHMS,
  MODEL_KINDS,
  checkModelMeta,
  type ModelKind,
  type ModelMeta,
  DEFAULT_ALGORITHM,
  algorithmNames,
  getAlgorithm,
  modelFromState,
  resolveAlgorithm,
  trainModel,
  type FitOptions,
} from './algorithms.js';
export { DEFAULT_TRAIN_OPTIONS, ratingEpochBudget, validateTrainOptions } from '../rbm/config.js';
export { orientationSchedule } from './rbmFit.js';
export { DEFAULT_MODEL_SCHEDULE, type ModelSchedule } from './watchLike.js';
export {
  DEFAULT_IMPLICIT_OPTIONS,
  epochBudget as implicitEpochBudget,
  ensembleFor as implicitEnsemble,
  validateImplicitOptions,
} from '../rbm/implicit.js';
export type { TrainOptions, TrainOptionsInput, RbmOptions } from '../rbm/config.js';
export { NonFiniteTrainingError } from '../rbm/train.js';
export { topK } from '../rbm/topK.js';
export { likedLevelIndex } from '../rbm/implicit.js';
export { prunedTopK, type PrunedTopKOptions, type PrunedTopKResult } from './prunedTopK.js';
