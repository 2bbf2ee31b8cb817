/**
 * What a model version stores: typed JSON metadata plus named Float32 tensors. The metadata is a
 * discriminated union on `kind`, checked field by field when a version is loaded, so a damaged or foreign
 * row fails with a message naming the field instead of surfacing later as `undefined` in arithmetic.
 *
 * Versions saved before the algorithm protocol existed carry `kind: 'rbm' | 'bias'` and no `algorithm`;
 * they still load (the algorithm is derived from the orientation).
 */
import type { ImplicitRbmState } from '../rbm/implicit.js';
import type { EpochReport } from '../rbm/train.js';

/** What the trainer recorded about a fit (all optional: baselines record little). */
export interface TrainingSummary {
  seconds?: number;
  epochs?: number;
  ratings?: number;
  fitRatings?: number;
  validationRatings?: number;
  /** Validation RMSE per component ('user', 'item', 'bias', 'blend'), or null where not measured. */
  validation?: Record<string, number | null>;
  /** Ranking figures on the validation slice (ranking models). */
  validationRanking?: Record<string, number | null>;
  orientations?: Record<string, unknown>;
  curve?: EpochReport[];
  notes?: string[];
  backend?: string;
  createdAt?: string;
  /** Catalog generation the training data was read at (see the store). */
  catalogGeneration?: number;
}

interface MetaBase {
  /** The algorithm's registry name ('blend', 'user', 'item', 'bias', 'popular', 'random', …). */
  algorithm?: string;
  ratingLevels: number[];
  /** External ids of the users and items the model was trained on, by internal index. */
  userIds: number[];
  itemIds: number[];
  training?: TrainingSummary;
}

export interface MixtureWeights {
  user: number;
  item: number;
  bias: number;
}

export interface BiasConfig {
  regItem: number;
  regUser: number;
  epochs: number;
  globalMean: number;
}

export interface RbmMeta extends MetaBase {
  kind: 'rbm';
  config: {
    orientation: 'user' | 'item' | 'both';
    seed: number;
    validationFraction: number;
    mixture: MixtureWeights;
    bias: BiasConfig;
    hidden: { user: number | null; item: number | null };
    /** The per-orientation RBM options used (hyperparameters, for display and reproduction). */
    user?: unknown;
    item?: unknown;
  };
}

export interface BiasMeta extends MetaBase {
  kind: 'bias';
  config: BiasConfig;
}

export interface PopularMeta extends MetaBase {
  kind: 'popular';
  config: Record<string, never>;
}

export interface RandomMeta extends MetaBase {
  kind: 'random';
  config: { seed: number };
}

/** The implicit ("would watch") RBM alone: ranks by p(watch), predicts no ratings. */
export interface ImplicitMeta extends MetaBase {
  kind: 'implicit';
  config: ImplicitRbmState['config'];
}

/**
 * The served default: the rating blend (predicted rating and distribution) and the implicit RBM, ranked
 * by p(watch) · p(rating ≥ liked). Tensors: the blend's names plus `implicit.*`.
 */
export interface WatchLikeMeta extends MetaBase {
  kind: 'watch-like';
  config: {
    /** Index into ratingLevels of the lowest level that counts as "liked". */
    likedLevel: number;
    rating: RbmMeta['config'];
    implicit: ImplicitRbmState['config'];
    /** n₀ of the popularity prior (model/watchLike.ts); absent: none (versions before issue 19). */
    coldPrior?: number;
  };
}

export type ModelMeta = RbmMeta | BiasMeta | PopularMeta | RandomMeta | ImplicitMeta | WatchLikeMeta;
export type ModelKind = ModelMeta['kind'];

export interface ModelState<Meta extends ModelMeta = ModelMeta> {
  meta: Meta;
  tensors: Record<string, Float32Array>;
}

class MetaError extends Error {
  constructor(field: string, expected: string, got: unknown) {
    super(`stored model metadata: ${field} must be ${expected}, got ${JSON.stringify(got)?.slice(0, 80) ?? 'nothing'}`);
    this.name = 'ModelMetaError';
  }
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNumberArray = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => typeof v === 'number' && Number.isFinite(v));

function need<T>(ok: boolean, field: string, expected: string, value: unknown): T {
  if (!ok) throw new MetaError(field, expected, value);
  return value as T;
}

function checkBiasConfig(c: unknown, where: string): BiasConfig {
  const r = need<Record<string, unknown>>(isRecord(c), where, 'an object', c);
  for (const f of ['regItem', 'regUser', 'epochs', 'globalMean'] as const) {
    need(typeof r[f] === 'number' && Number.isFinite(r[f]), `${where}.${f}`, 'a finite number', r[f]);
  }
  return r as unknown as BiasConfig;
}

function checkRbmConfig(config: Record<string, unknown>, where: string): void {
  need(
    ['user', 'item', 'both'].includes(config.orientation as string),
    `${where}.orientation`,
    '"user", "item" or "both"',
    config.orientation,
  );
  const mixture = need<Record<string, unknown>>(isRecord(config.mixture), `${where}.mixture`, 'an object', config.mixture);
  for (const f of ['user', 'item', 'bias'] as const) {
    need(typeof mixture[f] === 'number' && (mixture[f] as number) >= 0, `${where}.mixture.${f}`, 'a non-negative number', mixture[f]);
  }
  checkBiasConfig(config.bias, `${where}.bias`);
  const hidden = need<Record<string, unknown>>(isRecord(config.hidden), `${where}.hidden`, 'an object', config.hidden);
  for (const f of ['user', 'item'] as const) {
    const h = hidden[f];
    need(h === null || (Number.isInteger(h) && (h as number) > 0), `${where}.hidden.${f}`, 'a positive integer or null', h);
  }
}

function checkImplicitConfig(config: Record<string, unknown>, where: string, items: number): void {
  need(config.kind === 'implicit-rbm', `${where}.kind`, '"implicit-rbm"', config.kind);
  need(config.items === items, `${where}.items`, `the model's ${items} items`, config.items);
  need(Number.isInteger(config.hidden) && (config.hidden as number) > 0, `${where}.hidden`, 'a positive integer', config.hidden);
  need(isRecord(config.options), `${where}.options`, 'an object', config.options);
}

/** Checks raw JSON metadata (as read from a model version) and returns it typed. */
export function checkModelMeta(raw: unknown): ModelMeta {
  const m = need<Record<string, unknown>>(isRecord(raw), 'meta', 'an object', raw);
  need(
    isNumberArray(m.ratingLevels) && (m.ratingLevels as number[]).length >= 1,
    'ratingLevels',
    'a non-empty list of numbers',
    m.ratingLevels,
  );
  need(isNumberArray(m.userIds), 'userIds', 'a list of ids', m.userIds);
  need(isNumberArray(m.itemIds), 'itemIds', 'a list of ids', m.itemIds);
  need(m.algorithm === undefined || typeof m.algorithm === 'string', 'algorithm', 'a string', m.algorithm);
  need(m.training === undefined || isRecord(m.training), 'training', 'an object', m.training);
  const config = need<Record<string, unknown>>(isRecord(m.config), 'config', 'an object', m.config);
  switch (m.kind) {
    case 'rbm':
      checkRbmConfig(config, 'config');
      return m as unknown as RbmMeta;
    case 'implicit':
      checkImplicitConfig(config, 'config', (m.itemIds as number[]).length);
      return m as unknown as ImplicitMeta;
    case 'watch-like': {
      const K = (m.ratingLevels as number[]).length;
      need(
        Number.isInteger(config.likedLevel) && (config.likedLevel as number) >= 0 && (config.likedLevel as number) < K,
        'config.likedLevel',
        `a level index in 0 … ${K - 1}`,
        config.likedLevel,
      );
      need(
        config.coldPrior === undefined ||
          (typeof config.coldPrior === 'number' && config.coldPrior >= 0 && Number.isFinite(config.coldPrior)),
        'config.coldPrior',
        'a non-negative number',
        config.coldPrior,
      );
      checkRbmConfig(need(isRecord(config.rating), 'config.rating', 'an object', config.rating), 'config.rating');
      checkImplicitConfig(
        need(isRecord(config.implicit), 'config.implicit', 'an object', config.implicit),
        'config.implicit',
        (m.itemIds as number[]).length,
      );
      return m as unknown as WatchLikeMeta;
    }
    case 'bias':
      checkBiasConfig(config, 'config');
      return m as unknown as BiasMeta;
    case 'popular':
      return m as unknown as PopularMeta;
    case 'random':
      need(Number.isInteger(config.seed), 'config.seed', 'an integer', config.seed);
      return m as unknown as RandomMeta;
    default:
      throw new MetaError('kind', '"rbm", "bias", "popular", "random", "implicit" or "watch-like"', m.kind);
  }
}

/** A tensor of a stored state, checked for its expected length. */
export function stateTensor(state: ModelState, name: string, length: number): Float32Array {
  const t = state.tensors[name];
  if (!t) throw new Error(`model state is missing tensor "${name}"`);
  if (t.length !== length) throw new Error(`model state tensor "${name}" has ${t.length} values, expected ${length}`);
  return t;
}
