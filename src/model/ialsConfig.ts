/**
 * Implicit ALS's options (defaults, the grid, validation) and the check of its stored config. Kept apart
 * from ials.ts so that meta.ts can check a stored version without importing the model.
 */

/** One point of the grid: what is fitted. */
export interface IalsSetting {
  /** F, latent factors per user and item. */
  factors: number;
  /** λ, L2 regularisation of every factor. */
  regularization: number;
  /** α: a rated item has confidence c = 1 + α, an unrated one c = 1. */
  alpha: number;
}

export interface IalsOptions {
  /** The grid tried on the validation slice: every combination, in order (ties go to the earlier one). */
  factors: number[];
  regularization: number[];
  alpha: number[];
  /** Most ALS iterations (each: items given users, then users given items); validation picks how many. */
  maxIterations: number;
  /** Stop a grid point after this many iterations without a better validation nDCG. */
  patience: number;
  /** A pinned setting and iteration count: no grid, no validation slice. */
  pinned: (IalsSetting & { iterations: number }) | null;
  validationFraction: number;
  /** k of the validation nDCG@k. */
  rankCutoff: number;
  /** Standard deviation of the initial user factors. */
  initScale: number;
  /** Seeds the validation slice and the initial factors. */
  seed: number;
}

export const DEFAULT_IALS_OPTIONS: IalsOptions = {
  factors: [64],
  regularization: [10, 30, 100],
  alpha: [1, 3, 10],
  maxIterations: 20,
  patience: 3,
  pinned: null,
  validationFraction: 0.1,
  rankCutoff: 10,
  initScale: 0.01,
  seed: 0,
};

const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
const positiveInt = (x: unknown): x is number => Number.isInteger(x) && (x as number) > 0;

/** Merges `input` onto the defaults and checks every field, naming the first bad one. */
export function validateIalsOptions(input: Partial<IalsOptions> = {}): IalsOptions {
  const o: IalsOptions = { ...DEFAULT_IALS_OPTIONS, ...input };
  const fail = (field: keyof IalsOptions, expected: string): never => {
    throw new RangeError(`implicit ALS option ${field} must be ${expected}, got ${JSON.stringify(o[field])}`);
  };
  const list = (field: 'factors' | 'regularization' | 'alpha', ok: (x: unknown) => boolean, what: string): void => {
    if (!Array.isArray(o[field]) || o[field].length === 0 || !o[field].every(ok)) fail(field, `a non-empty list of ${what}`);
  };
  list('factors', positiveInt, 'positive integers');
  list('regularization', positive, 'positive numbers');
  list('alpha', (x) => typeof x === 'number' && Number.isFinite(x) && x >= 0, 'non-negative numbers');
  for (const f of ['maxIterations', 'patience', 'rankCutoff'] as const) if (!positiveInt(o[f])) fail(f, 'a positive integer');
  const p = o.pinned;
  if (
    p !== null &&
    !(positiveInt(p.factors) && positive(p.regularization) && Number.isFinite(p.alpha) && p.alpha >= 0 && positiveInt(p.iterations))
  )
    fail('pinned', '{ factors, regularization, alpha ≥ 0, iterations } or null');
  if (!(o.validationFraction > 0 && o.validationFraction < 0.5)) fail('validationFraction', 'in (0, 0.5)');
  if (!positive(o.initScale)) fail('initScale', 'a positive number');
  if (!Number.isInteger(o.seed) || o.seed < 0) fail('seed', 'a non-negative integer');
  return o;
}

/** What a stored implicit-ALS version records: the setting used and how it was chosen. */
export interface IalsConfig extends IalsSetting {
  iterations: number;
  /** Each grid point's best validation nDCG and the iteration it was reached at (empty when pinned). */
  grid: (IalsSetting & { iterations: number; ndcg: number | null })[];
  validationFraction: number;
  rankCutoff: number;
  seed: number;
}

/** Checks a stored implicit-ALS config (`where` names it in messages) and returns it typed. */
export function checkIalsConfig(config: Record<string, unknown>, where: string): IalsConfig {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new Error(`stored model metadata: ${where}.${field} must be ${expected}, got ${JSON.stringify(got)?.slice(0, 80) ?? 'nothing'}`);
  };
  const setting = (r: Record<string, unknown>, at: string): IalsSetting & { iterations: number } => {
    const { factors, regularization, alpha, iterations } = r;
    if (!positiveInt(factors)) return fail(`${at}factors`, 'a positive integer', factors);
    if (!positive(regularization)) return fail(`${at}regularization`, 'a positive number', regularization);
    if (typeof alpha !== 'number' || !(alpha >= 0) || !Number.isFinite(alpha)) return fail(`${at}alpha`, 'a non-negative number', alpha);
    if (!positiveInt(iterations)) return fail(`${at}iterations`, 'a positive integer', iterations);
    return { factors, regularization, alpha, iterations };
  };
  const { grid, validationFraction, rankCutoff, seed } = config;
  if (!Array.isArray(grid)) return fail('grid', 'a list of grid points', grid);
  const points = grid.map((g: unknown, n) => {
    const r = typeof g === 'object' && g !== null ? (g as Record<string, unknown>) : {};
    if (!(r.ndcg === null || typeof r.ndcg === 'number')) return fail(`grid[${n}].ndcg`, 'a number or null', r.ndcg);
    return { ...setting(r, `grid[${n}].`), ndcg: r.ndcg };
  });
  if (!positive(validationFraction)) return fail('validationFraction', 'a positive number', validationFraction);
  if (!positiveInt(rankCutoff)) return fail('rankCutoff', 'a positive integer', rankCutoff);
  if (!Number.isInteger(seed) || typeof seed !== 'number' || seed < 0) return fail('seed', 'a non-negative integer', seed);
  return { ...setting(config, ''), grid: points, validationFraction, rankCutoff, seed };
}
