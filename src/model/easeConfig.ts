/**
 * EASE^R's options (defaults, validation) and the check of its stored config. Kept apart from ease.ts so
 * that meta.ts can check a stored EASE version without importing the model (which imports meta.ts).
 */

export interface EaseOptions {
  /** λ values tried on the validation slice, in order (ties go to the earlier one). */
  lambdas: number[];
  /** A pinned λ: no grid, no validation slice. */
  lambda: number | null;
  /** Share of each user's training items held out to choose λ. */
  validationFraction: number;
  /** k of the validation nDCG@k. */
  rankCutoff: number;
  /**
   * Largest catalog EASE accepts: its model is a dense items × items float32 matrix B (4·I² bytes;
   * 10,000 items = 400 MB), and fitting holds two Float64 I × I arrays besides (16·I² bytes).
   */
  maxItems: number;
  /** Seeds the validation slice. */
  seed: number;
}

export const DEFAULT_EASE_OPTIONS: EaseOptions = {
  lambdas: [50, 100, 200, 500, 1000, 2000],
  lambda: null,
  validationFraction: 0.1,
  rankCutoff: 10,
  maxItems: 10_000,
  seed: 0,
};

const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;

/** Merges `input` onto the defaults and checks every field, naming the first bad one. */
export function validateEaseOptions(input: Partial<EaseOptions> = {}): EaseOptions {
  const o: EaseOptions = { ...DEFAULT_EASE_OPTIONS, ...input };
  const fail = (field: keyof EaseOptions, expected: string): never => {
    throw new RangeError(`EASE option ${field} must be ${expected}, got ${JSON.stringify(o[field])}`);
  };
  if (!Array.isArray(o.lambdas) || o.lambdas.length === 0 || !o.lambdas.every(positive))
    fail('lambdas', 'a non-empty list of positive numbers');
  if (o.lambda !== null && !positive(o.lambda)) fail('lambda', 'a positive number or null');
  if (!(o.validationFraction > 0 && o.validationFraction < 0.5)) fail('validationFraction', 'in (0, 0.5)');
  if (!Number.isInteger(o.rankCutoff) || o.rankCutoff < 1) fail('rankCutoff', 'a positive integer');
  if (!Number.isInteger(o.maxItems) || o.maxItems < 1) fail('maxItems', 'a positive integer');
  if (!Number.isInteger(o.seed) || o.seed < 0) fail('seed', 'a non-negative integer');
  return o;
}

/** How P = (XᵀX + λI)⁻¹ was computed: the items × items system, or the users × users one (Woodbury). */
export type EasePath = 'direct' | 'woodbury';

/** What a stored EASE version records: the λ used and how it was chosen. */
export interface EaseConfig {
  lambda: number;
  path: EasePath;
  /** The grid measured on the validation slice (empty when λ was pinned). */
  grid: { lambda: number; ndcg: number | null }[];
  validationFraction: number;
  rankCutoff: number;
  seed: number;
}

/** Checks a stored EASE config (`where` names it in messages) and returns it typed. */
export function checkEaseConfig(config: Record<string, unknown>, where: string): EaseConfig {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new Error(`stored model metadata: ${where}.${field} must be ${expected}, got ${JSON.stringify(got)?.slice(0, 80) ?? 'nothing'}`);
  };
  const { lambda, path, grid, validationFraction, rankCutoff, seed } = config;
  if (!positive(lambda)) return fail('lambda', 'a positive number', lambda);
  if (path !== 'direct' && path !== 'woodbury') return fail('path', '"direct" or "woodbury"', path);
  if (!Array.isArray(grid)) return fail('grid', 'a list of { lambda, ndcg }', grid);
  const points = grid.map((g: unknown, n): EaseConfig['grid'][number] => {
    const p = typeof g === 'object' && g !== null ? (g as Record<string, unknown>) : {};
    if (!positive(p.lambda) || !(p.ndcg === null || typeof p.ndcg === 'number')) return fail(`grid[${n}]`, '{ lambda, ndcg }', g);
    return { lambda: p.lambda, ndcg: p.ndcg };
  });
  if (!positive(validationFraction)) return fail('validationFraction', 'a positive number', validationFraction);
  if (!Number.isInteger(rankCutoff) || !positive(rankCutoff)) return fail('rankCutoff', 'a positive integer', rankCutoff);
  if (!Number.isInteger(seed) || typeof seed !== 'number' || seed < 0) return fail('seed', 'a non-negative integer', seed);
  return { lambda, path, grid: points, validationFraction, rankCutoff, seed };
}
