/**
 * The registry: the algorithms (fit), and the kinds of stored model version (the way back from a stored
 * version to a TrainedModel). Adding an algorithm means adding it to ALGORITHMS, and its StoredKind to
 * MODEL_KINDS if it is stored under a new `kind` (docs/adding-an-algorithm.md); the evaluator, the scorer,
 * the server and the protocol suite (test/model/protocol.test.ts) pick it up from here.
 */
import type { Dataset } from '../data/dataset.js';
import { biasAlgorithm, biasKind } from './bias.js';
import { jsonObject, ModelMetaError, readMetaBase, type ModelState, type StoredMeta } from './meta.js';
import { popularAlgorithm, popularKind, randomAlgorithm, randomKind } from './popularity.js';
import type { Algorithm, FitHooks, StoredKind, TrainedModel } from './protocol.js';
import { algorithmOfOrientation, rbmKind } from './rbmBlend.js';
import { easeAlgorithm, easeKind, type EaseFitOptions } from './ease.js';
import { ialsAlgorithm, ialsKind, type IalsFitOptions } from './ials.js';
import { blendAlgorithm, itemRbmAlgorithm, userRbmAlgorithm } from './rbmFit.js';
import { implicitAlgorithm, implicitKind, watchLikeAlgorithm, watchLikeKind, type RankingFitOptions } from './watchLike.js';

/**
 * The settings a command collects for fitting (model flags of `train` and `evaluate`, rbm/config.ts; the
 * implicit RBM's under `implicit`). Each algorithm has its own options type; the registry below says which
 * of these settings it reads.
 */
export type FitOptions = RankingFitOptions & EaseFitOptions & IalsFitOptions;

/** An algorithm of the registry: its own options taken from the command's settings by `optionsOf`. */
function registered<Options>(algorithm: Algorithm<Options>, optionsOf: (settings: FitOptions) => Options): Algorithm<FitOptions> {
  return {
    name: algorithm.name,
    description: algorithm.description,
    fit: (train, settings, hooks) => algorithm.fit(train, optionsOf(settings), hooks),
  };
}

const all = (settings: FitOptions): FitOptions => settings;

export const ALGORITHMS: readonly Algorithm<FitOptions>[] = [
  registered(watchLikeAlgorithm, all),
  registered(implicitAlgorithm, all),
  registered(blendAlgorithm, all),
  registered(userRbmAlgorithm, all),
  registered(itemRbmAlgorithm, all),
  // The baselines keep their published defaults (Surprise's BaselineOnly): the RBMs' flags are not theirs.
  registered(biasAlgorithm, () => ({})),
  registered(popularAlgorithm, () => ({})),
  registered(randomAlgorithm, ({ seed }) => ({ seed })),
  // The comparison baselines read only their own grids (--ease-*, --ials-*) and the seed.
  registered(easeAlgorithm, ({ seed, ease }) => ({ seed, ease })),
  registered(ialsAlgorithm, ({ seed, ials }) => ({ seed, ials })),
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
): Promise<{ model: TrainedModel; state: ModelState<ModelMeta> }> {
  const model = await getAlgorithm(name).fit(train, options, hooks);
  const { meta, tensors } = model.toState();
  // Read back through the metadata check, so what is saved is what will load (and is typed by its kind).
  const checked = checkModelMeta({
    ...meta,
    training: { ...meta.training, backend: hooks.backend, createdAt: new Date().toISOString() },
  });
  return { model, state: { meta: checked, tensors } };
}

/** Every kind of stored model version: the one list the metadata union, its check and the loader follow. */
export const MODEL_KINDS = [rbmKind, biasKind, popularKind, randomKind, implicitKind, watchLikeKind, easeKind, ialsKind] as const;

type MetaOf<K> = K extends StoredKind<infer Meta> ? Meta : never;
/** The metadata of any stored version: a union discriminated on `kind`. */
export type ModelMeta = MetaOf<(typeof MODEL_KINDS)[number]>;
export type ModelKind = ModelMeta['kind'];

function kindOf(raw: unknown): { entry: (typeof MODEL_KINDS)[number]; fields: Record<string, unknown> } {
  const fields = jsonObject(raw, 'meta');
  const entry = MODEL_KINDS.find((k) => k.kind === fields.kind);
  if (!entry) throw new ModelMetaError('kind', `one of ${MODEL_KINDS.map((k) => JSON.stringify(k.kind)).join(', ')}`, fields.kind);
  return { entry, fields };
}

/** Checks raw JSON metadata (as read from a model version) and returns it typed. */
export function checkModelMeta(raw: unknown): ModelMeta {
  const { entry, fields } = kindOf(raw);
  return entry.readMeta(fields, readMetaBase(fields, ''));
}

/** Reads the metadata with `kind`'s schema and loads the model (one type per call, so the two agree). */
function load<Meta extends StoredMeta>(
  kind: StoredKind<Meta>,
  fields: Record<string, unknown>,
  tensors: ModelState['tensors'],
): TrainedModel {
  return kind.fromState({ meta: kind.readMeta(fields, readMetaBase(fields, '')), tensors });
}

/** Rebuilds a model from a stored state (metadata checked first): predictions are bit-identical to the saved model's. */
export function modelFromState(state: ModelState): TrainedModel {
  const { entry, fields } = kindOf(state.meta);
  return load<StoredMeta>(entry, fields, state.tensors);
}
