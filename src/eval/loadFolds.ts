/** Builds the evaluation folds a command line asks for, from a MovieLens folder. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { datasetFromTriples, type Dataset } from '../data/dataset.js';
import { detectLayout, readMovieLensFolder, readRatingsFile } from '../data/movielens.js';
import { holdout, kFold, publishedFolds, userStratified, type Fold } from './splits.js';

export type FoldSpec =
  | { kind: 'published'; names: string[] }
  | { kind: 'kfold'; k: number; seed: number }
  | { kind: 'holdout'; fraction: number; seed: number }
  | { kind: 'user-stratified'; fraction: number; seed: number };

/** All ratings of a MovieLens folder as one Dataset (with timestamps when a time-ordered split needs them). */
export async function loadDataset(folder: string, options: { withTimestamps?: boolean } = {}): Promise<Dataset> {
  const data = await readMovieLensFolder(folder);
  return datasetFromTriples(data.ratings, { withTimestamps: options.withTimestamps });
}

/** The folds of `spec`; `data` is the folder's Dataset when the caller already loaded it. */
export async function loadFolds(folder: string, spec: FoldSpec, data?: Dataset): Promise<Fold[]> {
  if (spec.kind === 'published') {
    const layout = detectLayout(folder);
    const parts = [];
    for (const name of spec.names) {
      const base = join(folder, `${name}.base`);
      const test = join(folder, `${name}.test`);
      for (const file of [base, test]) {
        if (!existsSync(file))
          throw new Error(`--folds ${name}: ${file} does not exist (expected the published split files ${name}.base and ${name}.test)`);
      }
      parts.push({ name, base: await readRatingsFile(base, layout), test: await readRatingsFile(test, layout) });
    }
    return publishedFolds(parts);
  }
  const ds = data ?? (await loadDataset(folder));
  if (spec.kind === 'kfold') return kFold(ds, spec.k, spec.seed);
  if (spec.kind === 'user-stratified') return userStratified(ds, spec.fraction, spec.seed);
  return holdout(ds, spec.fraction, spec.seed);
}
