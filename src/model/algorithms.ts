/**
 * The registry of algorithms, and the one way back from a stored model version to a TrainedModel.
 * Adding an algorithm means adding it here (and its loader, if it is stored under a new `kind`); the
 * evaluator, the scorer and the server pick it up by name.
 */
import type { Dataset } from '../data/dataset.js';
import { biasAlgorithm, BiasModel } from './bias.js';
import { easeAlgorithm, EaseModel, type EaseFitOptions } from './ease.js';
import { ialsAlgorithm, IalsModel, type IalsFitOptions } from './ials.js';
import { checkModelMeta, type ModelState } from './meta.js';
import { PopularModel, popularAlgorithm, RandomModel, randomAlgorithm } from './popularity.js';
import type { Algorithm, FitHooks, TrainedModel } from './protocol.js';
import { algorithmOfOrientation, RbmBlendModel } from './rbmBlend.js';
import { blendAlgorithm, itemRbmAlgorithm, userRbmAlgorithm } from './rbmFit.js';
import { implicitAlgorithm, ImplicitModel, watchLikeAlgorithm, WatchLikeModel, type RankingFitOptions } from './watchLike.js';

/** Options every algorithm accepts; each reads the fields it knows (the rating RBMs: rbm/config.ts; the implicit RBM: `implicit`). */
export type FitOptions = RankingFitOptions & EaseFitOptions & IalsFitOptions;

export const ALGORITHMS: readonly Algorithm<FitOptions>[] = [
  watchLikeAlgorithm,
  implicitAlgorithm,
  blendAlgorithm,
  userRbmAlgorithm,
  itemRbmAlgorithm,
  biasAlgorithm,
  popularAlgorithm,
  randomAlgorithm,
  easeAlgorithm,
  ialsAlgorithm,
];

/** The algorithm `npm run train` and `npm start` fit unless told otherwise. */
export const DEFAULT_ALGORITHM = 'watch-like';

/**
 * The algorithm a command runs: the one named, else a single rating RBM asked for with `--orientation
 * user|item` (kept from before algorithms had names), else the default.
 */
export function resolveAlgorithm(named: string | undefined, options: FitOptions): string {
  if (named !== undefined) return getAlgorithm(named).name;
  return options.orientation === 'user' || options.orientation === 'item' ? algorithmOfOrientation(options.orientation) : DEFAULT_ALGORITHM;
}

export const algorithmNames = (): string[] => ALGORITHMS.map((a) => a.name);

export function getAlgorithm(name: string): Algorithm<FitOptions> {
  const algorithm = ALGORITHMS.find((a) => a.name === name);
  if (!algorithm) throw new RangeError(`unknown algorithm "${name}": expected one of ${algorithmNames().join(', ')}`);
  return algorithm;
}

/** Fits `name` on `train` and stamps what the model version should remember about the run. */
export async function trainModel(
  name: string,
  train: Dataset,
  options: FitOptions = {},
  hooks: FitHooks & { backend?: string } = {},
): Promise<{ model: TrainedModel; state: ModelState }> {
  const model = await getAlgorithm(name).fit(train, options, hooks);
  const state = model.toState();
  state.meta.training = { ...state.meta.training, backend: hooks.backend, createdAt: new Date().toISOString() };
  return { model, state };
}

/** Rebuilds a model from a stored state (metadata checked first): predictions are bit-identical to the saved model's. */
export function modelFromState(state: ModelState): TrainedModel {
  const meta = checkModelMeta(state.meta);
  const checked = { meta, tensors: state.tensors };
  switch (meta.kind) {
    case 'rbm':
      return RbmBlendModel.fromState(checked);
    case 'bias':
      return BiasModel.fromState(checked);
    case 'popular':
      return PopularModel.fromState(checked);
    case 'random':
      return RandomModel.fromState(checked);
    case 'implicit':
      return ImplicitModel.fromState(checked);
    case 'watch-like':
      return WatchLikeModel.fromState(checked);
    case 'ease':
      return EaseModel.fromState(checked);
    case 'ials':
      return IalsModel.fromState(checked);
  }
}
