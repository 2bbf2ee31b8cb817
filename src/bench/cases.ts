/**
 * The benchmark's data sets. Synthetic cases use MovieLens's shapes (1M: 6,040 users × 3,706 items;
 * 10M: 69,878 users × 10,677 items) on the 1–5 star scale, drawn by the seeded latent-factor generator;
 * `synthetic-25m` (opt-in) runs the whole path at MovieLens 25M's shape (pipeline.ts);
 * `synthetic-1m-items4x` spreads the same number of ratings over 4× the items, so a training cost that
 * followed users × items (rather than ratings) would show there.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetFromTriples, type Dataset } from '../data/dataset.js';
import { readMovieLensFolder } from '../data/movielens.js';
import { generateSyntheticRatings } from '../data/synthetic.js';
import { ML25M_SHAPE } from '../data/syntheticFolder.js';
import type { PipelineShape } from './pipeline.js';

export interface BenchCase {
  name: string;
  description: string;
  /** Epochs timed per orientation unless --epochs says otherwise. */
  defaultEpochs: number;
  /** Whether this case also times batch scoring of all users × all items. */
  scoring: boolean;
  /** Whether this case also times the implicit RBM's epochs at each thread count (after the rating RBMs). */
  implicit?: boolean;
  /** Loads the epoch cases' data (every case but the whole-path ones). */
  load?(context: CaseContext): Promise<Dataset>;
  /** A whole-path case (pipeline.ts) of this shape instead of timed epochs on a loaded Dataset. */
  pipeline?: PipelineShape;
  /** Run only when named in --cases (too slow for the default run). */
  optIn?: boolean;
}

export interface CaseContext {
  /** Folder holding MovieLens 100K (u.data, u.item, …). */
  ml100kFolder: string;
  /** Whole-path cases: users whose top 10 is scored (default: the case's sample). */
  scoreUsers?: number | 'all';
  /** Epoch cases: thread counts each orientation is timed at (default [1]); the first is the headline. */
  threads?: number[];
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ML-100K in the shared data folder next to the repository (read in place, never copied). */
export const DEFAULT_ML100K_FOLDER = path.resolve(REPO_ROOT, '..', 'shared', 'datasets', 'ml-100k');

const SEED = 42;

function synthetic(name: string, description: string, users: number, items: number, ratings: number, defaultEpochs: number): BenchCase {
  return {
    name,
    description,
    defaultEpochs,
    scoring: false,
    load: async () => generateSyntheticRatings({ seed: SEED, users, items, ratings }),
  };
}

export const BENCH_CASES: readonly BenchCase[] = [
  {
    name: 'ml100k',
    description: 'MovieLens 100K (u.data, all ratings)',
    defaultEpochs: 4,
    scoring: true,
    implicit: true,
    load: async ({ ml100kFolder }) => {
      const data = await readMovieLensFolder(ml100kFolder);
      return datasetFromTriples(data.ratings, { ratingLevels: data.ratingLevels });
    },
  },
  { ...synthetic('synthetic-1m', 'synthetic, MovieLens-1M shape', 6_040, 3_706, 1_000_209, 3), implicit: true },
  synthetic('synthetic-1m-items4x', 'synthetic, 1M ratings over 4× the items', 6_040, 4 * 3_706, 1_000_209, 3),
  synthetic('synthetic-10m', 'synthetic, MovieLens-10M shape', 69_878, 10_677, 10_000_054, 2),
  {
    name: 'synthetic-25m',
    description: 'whole path at MovieLens-25M shape: generate folder, import, load, train, save, load, score a sample',
    defaultEpochs: 2,
    scoring: false,
    pipeline: ML25M_SHAPE,
    optIn: true,
  },
];

export const CASE_NAMES: readonly string[] = BENCH_CASES.map((c) => c.name);
/** What `npm run bench` runs without --cases: every case but the opt-in ones. */
export const DEFAULT_CASE_NAMES: readonly string[] = BENCH_CASES.filter((c) => !c.optIn).map((c) => c.name);

export function findCase(name: string): BenchCase {
  const found = BENCH_CASES.find((c) => c.name === name);
  if (!found) throw new RangeError(`unknown bench case "${name}" (known: ${CASE_NAMES.join(', ')})`);
  return found;
}
