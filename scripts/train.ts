/**
 * npm run train -- [--db <path>] [--hidden … --epochs … --lr … --seed …]
 * Trains the recommender on the database's ratings and saves it as the current model version.
 */
import { parseArgs } from 'node:util';
import { MODEL_FLAGS, modelOptionsFromFlags } from '../src/cli/modelArgs.js';
import { bar, endProgress, progressLine } from '../src/cli/progress.js';
import { trainAndSave } from '../src/cli/trainCommand.js';
import { openDatabase } from '../src/store/index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { db: { type: 'string' }, ...MODEL_FLAGS }, strict: true, allowPositionals: false });
  const options = modelOptionsFromFlags(values);
  const dbPath = values.db ?? process.env.DB_PATH ?? 'data/recommender.db';
  const db = openDatabase(dbPath);
  try {
    const started = performance.now();
    const { versionId, meta } = await trainAndSave(db, options, {
      onEpoch: (r) => {
        const max = options[r.phase as 'user' | 'item'].epochs;
        progressLine(`${r.phase.padEnd(4)} ${bar(r.epoch / max)} epoch ${r.epoch} CD-${r.cdSteps} train RMSE ${r.trainRmse.toFixed(4)} validation RMSE ${r.validationRmse?.toFixed(4) ?? '-'} ${r.seconds.toFixed(2)}s`);
      },
      retry: {
        onWait: (attempt, attempts, delayMs) =>
          console.error(`the database is locked by another writer (an import or the server); save attempt ${attempt} of ${attempts} failed, retrying in ${(delayMs / 1000).toFixed(1)} s`),
      },
    });
    endProgress();
    const training = meta.training as { validation: Record<string, number | null>; backend: string };
    console.log(`saved model version ${versionId} to ${dbPath} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(`validation RMSE: ${Object.entries(training.validation).map(([k, v]) => `${k} ${v?.toFixed(4) ?? '-'}`).join(', ')}; mixture ${JSON.stringify(meta.config.mixture)}; backend ${training.backend}`);
  } finally {
    db.close();
  }
}

main().catch((err: unknown) => {
  endProgress();
  console.error(`train: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
