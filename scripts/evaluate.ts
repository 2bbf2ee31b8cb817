/**
 * npm run evaluate -- --data <MovieLens folder> (--folds u1,u2 | --kfold 5 --seed 0 | --holdout 0.1 --seed 0)
 *                     [--json out.json] [model options]
 * Cross-validates the default RBM recommender against the global-mean and bias baselines on the same folds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { bar, endProgress, progressLine } from '../src/cli/progress.js';
import { MODEL_FLAGS, modelOptionsFromFlags } from '../src/cli/modelArgs.js';
import { crossValidate } from '../src/eval/crossValidate.js';
import { loadFolds, type FoldSpec } from '../src/eval/loadFolds.js';
import { formatTable, learningCurvesSvg } from '../src/eval/report.js';
import { initBackend } from '../src/rbm/backend.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { data: { type: 'string' }, folds: { type: 'string' }, kfold: { type: 'string' }, holdout: { type: 'string' }, json: { type: 'string' }, ...MODEL_FLAGS },
    strict: true,
    allowPositionals: false,
  });
  if (!values.data) throw new Error('--data <MovieLens folder> is required');
  const chosen = [values.folds, values.kfold, values.holdout].filter((v) => v !== undefined).length;
  if (chosen !== 1) throw new Error('give exactly one of --folds u1,u2,… | --kfold K | --holdout FRACTION');
  const options = modelOptionsFromFlags(values);
  const seed = options.seed;
  let spec: FoldSpec;
  if (values.folds) spec = { kind: 'published', names: values.folds.split(',').map((s) => s.trim()).filter(Boolean) };
  else if (values.kfold) spec = { kind: 'kfold', k: Number(values.kfold), seed };
  else spec = { kind: 'holdout', fraction: Number(values.holdout), seed };
  if (spec.kind === 'kfold' && !(Number.isInteger(spec.k) && spec.k >= 2)) throw new RangeError(`--kfold must be an integer ≥ 2, got ${values.kfold}`);
  if (spec.kind === 'holdout' && !(spec.fraction > 0 && spec.fraction < 1)) throw new RangeError(`--holdout must be in (0, 1), got ${values.holdout}`);

  const backend = await initBackend();
  const folds = await loadFolds(values.data, spec);
  const maxEpochs = options.orientation === 'both' ? options.user.epochs + options.item.epochs : options[options.orientation].epochs;
  const report = await crossValidate(folds, options, {
    onEpoch: (fold, r) => progressLine(`${fold} ${r.phase.padEnd(4)} ${bar(r.epoch / maxEpochs)} epoch ${r.epoch} CD-${r.cdSteps} train ${r.trainRmse.toFixed(4)} validation ${r.validationRmse?.toFixed(4) ?? '-'} ${r.seconds.toFixed(2)}s`),
    onFold: (f) => {
      endProgress();
      process.stderr.write(`${f.name}: RMSE ${f.rmse.toFixed(4)} (bias ${f.baselines.bias.rmse.toFixed(4)}) in ${f.trainSeconds.toFixed(1)} s, mixture ${JSON.stringify(f.mixture)}\n`);
    },
  });
  console.log(formatTable(report));
  if (report.fallbackRatings > 0) {
    console.log(`${report.fallbackRatings} test ratings had a user or item without training ratings and got the bias baseline's prediction.`);
  }
  if (values.json) {
    const out = { ...report, model: { ...report.model, backend }, protocol: spec, data: values.data };
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, JSON.stringify(out, null, 2));
    const svgPath = values.json.replace(/\.json$/i, '') + '.curves.svg';
    writeFileSync(svgPath, learningCurvesSvg(report.folds.map((f) => ({ label: f.name, curve: f.curve })), `Learning curves (${values.data})`));
    console.log(`wrote ${values.json} and ${svgPath}`);
  }
}

main().catch((err: unknown) => {
  endProgress();
  console.error(`evaluate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
