/**
 * What a model version stores: typed JSON metadata plus named Float32 tensors. The metadata is a
 * discriminated union on `kind` (model/algorithms.ts assembles it from the registered kinds); each kind
 * reads its `config` with the schema readers below, field by field, so a damaged or foreign row fails with
 * a message naming the field instead of surfacing later as `undefined` in arithmetic.
 *
 * Versions saved before the algorithm protocol existed carry `kind: 'rbm' | 'bias'` and no `algorithm`;
 * they still load (the algorithm is derived from the orientation).
 */
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
  /** Wall seconds of each stage of the training, in the order they first ran (rbm/stages.ts). */
  stages?: Record<string, number>;
}

/** The fields every kind of model version stores, whatever its `config`. */
export interface MetaBase {
  /** The algorithm's registry name ('blend', 'user', 'item', 'bias', 'popular', 'random', …). */
  algorithm?: string;
  ratingLevels: number[];
  /** External ids of the users and items the model was trained on, by internal index. */
  userIds: number[];
  itemIds: number[];
  training?: TrainingSummary;
}

/** The metadata of one kind of model version: the common fields, its `kind` tag and its `config`. */
export interface StoredMeta<Kind extends string = string, Config = unknown> extends MetaBase {
  kind: Kind;
  config: Config;
}

export interface ModelState<Meta extends StoredMeta = StoredMeta> {
  meta: Meta;
  tensors: Record<string, Float32Array>;
}

export class ModelMetaError extends Error {
  constructor(field: string, expected: string, got: unknown) {
    super(`stored model metadata: ${field} must be ${expected}, got ${JSON.stringify(got)?.slice(0, 80) ?? 'nothing'}`);
    this.name = 'ModelMetaError';
  }
}

/**
 * A schema reader: checks a JSON value found at `where` (a field path such as `config.mixture.user`) and
 * returns it typed, or throws a ModelMetaError naming the path and what was expected.
 */
export type Reader<T> = (value: unknown, where: string) => T;

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A reader of values that pass `ok`, described by `expected` in the error. */
export function readerOf<T>(ok: (value: unknown) => value is T, expected: string): Reader<T> {
  return (value, where) => {
    if (!ok(value)) throw new ModelMetaError(where, expected, value);
    return value;
  };
}

/** A finite number, further constrained by `ok` when given. */
export const finite = (ok: (v: number) => boolean = () => true, expected = 'a finite number'): Reader<number> =>
  readerOf((v): v is number => typeof v === 'number' && Number.isFinite(v) && ok(v), expected);

export const integer = (ok: (v: number) => boolean = () => true, expected = 'an integer'): Reader<number> =>
  readerOf((v): v is number => typeof v === 'number' && Number.isInteger(v) && ok(v), expected);

export const text: Reader<string> = readerOf((v): v is string => typeof v === 'string', 'a string');

const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** One of a few strings. */
export const oneOf = <T extends string>(...values: T[]): Reader<T> =>
  readerOf(
    (v): v is T => values.some((x) => x === v),
    values
      .map((x) => JSON.stringify(x))
      .join(', ')
      .replace(/, ([^,]*)$/, ' or $1'),
  );

/** A JSON object kept as it is (hyperparameters stored for display and reproduction, read by no code). */
export const jsonObject: Reader<Record<string, unknown>> = readerOf(isRecord, 'an object');

export const nullable =
  <T>(read: Reader<T>): Reader<T | null> =>
  (value, where) =>
    value === null ? null : read(value, where);

export const optional =
  <T>(read: Reader<T>): Reader<T | undefined> =>
  (value, where) =>
    value === undefined ? undefined : read(value, where);

export const listOf =
  <T>(read: Reader<T>): Reader<T[]> =>
  (value, where) => {
    if (!Array.isArray(value)) throw new ModelMetaError(where, 'a list', value);
    return value.map((v, n) => read(v, `${where}[${n}]`));
  };

export const recordOf =
  <T>(read: Reader<T>): Reader<Record<string, T>> =>
  (value, where) => {
    const raw = jsonObject(value, where);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, read(v, `${where}.${k}`)]));
  };

export type Shape = Record<string, Reader<unknown>>;
export type Read<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

/**
 * An object whose fields are read by `shape`. Fields the shape does not name are kept as they are, so a
 * version written by a newer trainer (one more summary figure) loads and shows everything it recorded.
 */
export const objectOf =
  <S extends Shape>(shape: S): Reader<Read<S>> =>
  (value, where) => {
    const raw = jsonObject(value, where);
    const out: Record<string, unknown> = { ...raw };
    for (const key of Object.keys(shape)) {
      const v = shape[key](raw[key], where ? `${where}.${key}` : key);
      if (v === undefined) delete out[key];
      else out[key] = v;
    }
    // Every key of the shape was read by its reader just above: this is the one place the checked
    // object meets its static type.
    return out as Read<S>;
  };

/**
 * An options object shaped like `defaults`: each field present must have the type of the default's
 * (a number, a string, a boolean, a list, an object), a field absent takes the default, as the trainers'
 * own option checks do. Ranges and enumerations are for those checks, which load the options next.
 */
export const shapedLike =
  <T extends object>(defaults: T): Reader<T> =>
  (value, where) => {
    const raw = jsonObject(value, where);
    const out: Record<string, unknown> = {};
    for (const [key, fallback] of Object.entries(defaults)) {
      const v = raw[key];
      out[key] = fallback;
      if (v === undefined) continue;
      const kindOf = (x: unknown): string => (Array.isArray(x) ? 'list' : x === null ? 'null' : typeof x);
      if (kindOf(v) !== kindOf(fallback)) throw new ModelMetaError(`${where}.${key}`, `a ${kindOf(fallback)}`, v);
      out[key] = v;
    }
    // Every field was checked against the default's type just above (or is the default).
    return out as T;
  };

export const epochReport: Reader<EpochReport> = readerOf(
  (v): v is EpochReport => isRecord(v) && typeof v.phase === 'string' && typeof v.epoch === 'number',
  'an epoch report {phase, epoch, …}',
);

const trainingSummary: Reader<TrainingSummary> = objectOf({
  seconds: optional(finite()),
  epochs: optional(finite()),
  ratings: optional(finite()),
  fitRatings: optional(finite()),
  validationRatings: optional(finite()),
  validation: optional(recordOf(nullable(finite()))),
  validationRanking: optional(recordOf(nullable(finite()))),
  orientations: optional(jsonObject),
  curve: optional(listOf(epochReport)),
  notes: optional(listOf(text)),
  backend: optional(text),
  createdAt: optional(text),
  catalogGeneration: optional(finite()),
  stages: optional(recordOf(finite())),
});

/** The common fields of every kind (ratingLevels, ids, algorithm, training), read from a raw metadata object. */
export const readMetaBase: Reader<MetaBase> = objectOf({
  algorithm: optional(text),
  ratingLevels: readerOf((v): v is number[] => isNumbers(v) && v.length >= 1, 'a non-empty list of numbers'),
  userIds: readerOf(isNumbers, 'a list of ids'),
  itemIds: readerOf(isNumbers, 'a list of ids'),
  training: optional(trainingSummary),
});

/**
 * A model's stored state: its kind, config and tensors, with the common fields (algorithm, JSON-ready
 * copies of the rating levels and ids, the training summary) taken from the model.
 */
export function modelState<Kind extends string, Config>(
  model: {
    readonly algorithm: string;
    readonly ratingLevels: readonly number[];
    readonly userIds: readonly number[];
    readonly itemIds: readonly number[];
  },
  kind: Kind,
  config: Config,
  tensors: Record<string, Float32Array>,
  training?: TrainingSummary,
): ModelState<StoredMeta<Kind, Config>> {
  const meta: StoredMeta<Kind, Config> = {
    kind,
    algorithm: model.algorithm,
    ratingLevels: [...model.ratingLevels],
    userIds: [...model.userIds],
    itemIds: [...model.itemIds],
    config,
  };
  if (training !== undefined) meta.training = training;
  return { meta, tensors };
}

/** A tensor of a stored state, checked for its expected length. */
export function stateTensor(state: ModelState, name: string, length: number): Float32Array {
  const t = state.tensors[name];
  if (!t) throw new Error(`model state is missing tensor "${name}"`);
  if (t.length !== length) throw new Error(`model state tensor "${name}" has ${t.length} values, expected ${length}`);
  return t;
}
