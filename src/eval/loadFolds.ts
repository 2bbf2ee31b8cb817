/** Builds the evaluation folds a command line asks for, from a MovieLens folder. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { datasetFromTriples } from '../data/dataset.js';
import { detectLayout, readMovieLensFolder, readRatingsFile } from '../data/movielens.js';
import { holdout, kFold, publishedFolds, type Fold } from './splits.js';

export type FoldSpec = { kind: 'published'; names: string[] } | { kind: 'kfold'; k: number; seed: number } | { kind: 'holdout'; fraction: number; seed: number };

export async function loadFolds(folder: string, spec: FoldSpec): Promise<Fold[]> {
  if (spec.kind === 'published') {
    const layout = detectLayout(folder);
    const parts = [];
    for (const name of spec.names) {
      const base = join(folder, `${name}.base`);
      const test = join(folder, `${name}.test`);
      for (const file of [base, test]) {
        if (!existsSync(file)) throw new Error(`--folds ${name}: ${file} does not exist (expected the published split files ${name}.base and ${name}.test)`);
      }
      parts.push({ name, base: await readRatingsFile(base, layout), test: await readRatingsFile(test, layout) });
    }
    return publishedFolds(parts);
  }
  const data = await readMovieLensFolder(folder);
  const ds = datasetFromTriples(data.ratings);
  return spec.kind === 'kfold' ? kFold(ds, spec.k, spec.seed) : holdout(ds, spec.fraction, spec.seed);
}
