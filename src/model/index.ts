/**
 * The model facade used by the trainer script, the evaluator, the server and the batch scorer.
 */
import type { Dataset } from '../data/dataset.js';
import { initBackend } from '../rbm/backend.js';
import { fitRecommender } from '../rbm/fit.js';
import { RbmRecommender } from '../rbm/recommender.js';
import { BiasModel } from './bias.js';
import type { EpochReport, ModelState, RatingModel } from './types.js';

export type { EpochReport, KnownRatings, ModelMeta, ModelState, Predictions, RatingModel, UserScorer, FoldInOptions } from './types.js';
export { DEFAULT_TRAIN_OPTIONS, validateTrainOptions } from '../rbm/config.js';
export type { TrainOptions, TrainOptionsInput, RbmOptions } from '../rbm/config.js';
export { scoreUsers, type ScoringUser } from '../rbm/batch.js';
export { NonFiniteTrainingError } from '../rbm/train.js';
export { BiasModel, fitBiasModel } from './bias.js';
export { initBackend } from '../rbm/backend.js';

import type { TrainOptionsInput } from '../rbm/config.js';

/**
 * Trains the default recommender (both RBM orientations blended with the bias baseline) on `train`.
 * The returned state is what a model version stores; its meta.training holds the learning curve,
 * validation metrics, seconds and the tfjs backend.
 */
export async function trainModel(
  train: Dataset,
  options: TrainOptionsInput = {},
  onEpoch?: (report: EpochReport) => void,
): Promise<{ model: RatingModel; state: ModelState }> {
  const backend = await initBackend();
  const { model } = await fitRecommender(train, options, onEpoch);
  model.parts.training.backend = backend;
  model.parts.training.createdAt = new Date().toISOString();
  return { model, state: model.toState() };
}

/** Rebuilds a model from a stored state: predictions are bit-identical to the model that was saved. */
export function modelFromState(state: ModelState): RatingModel {
  switch (state.meta.kind) {
    case 'rbm':
      return RbmRecommender.fromState(state);
    case 'bias':
      return BiasModel.fromState(state);
    default:
      throw new Error(`unknown model kind "${state.meta.kind}" in the stored model version: expected "rbm" or "bias"`);
  }
}
