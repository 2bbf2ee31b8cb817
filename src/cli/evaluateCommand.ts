/**
 * `npm run evaluate`: several algorithms on the same folds, rating and ranking metrics side by side, and
 * optionally Given-N cold users. Prints one table per protocol; `--json` writes the report (with the
 * served algorithm's fields of the older report kept: `mean.rmse`, `baselines.bias.rmse`, `folds[]`) and
 * an SVG of learning curves and nDCG bars beside it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { loadDataset, loadFolds, type FoldSpec } from '../eval/loadFolds.js';
import { errorMetrics } from '../eval/metrics.js';
import { pairedDifference } from '../eval/paired.js';
import { formatAlgorithmTable, formatPairedTable, evaluationSvg, type AlgorithmRow } from '../eval/report.js';
import { evaluateAlgorithms, evaluateGivenN, type AlgorithmResult, type GivenResult, type RankingProtocol } from '../eval/runner.js';
import { givenNColdUsers, sampleUsers, type Fold } from '../eval/splits.js';
import { algorithmNames, getAlgorithm, resolveAlgorithm, type FitOptions } from '../model/index.js';
import { globalMean } from '../model/bias.js';
import { initBackend } from '../rbm/backend.js';
import { integerFlag, numberFlag, parseFlags, UsageError } from './common.js';
import { MODEL_FLAGS, modelOptionsFromFlags } from './modelArgs.js';
import { bar, endProgress, progressLine } from './progress.js';

export const EVALUATE_USAGE = `usage: npm run evaluate -- --data <MovieLens folder> <split> [options]
  split (exactly one):
    --folds u1,u2,…                      published split files
    --kfold K                            seeded K-fold over all ratings
    --holdout FRACTION                   seeded holdout of all ratings
    --split user-stratified [--test-fraction 0.25]   each user's ratings split (every user in both parts)
  --seed N                 seeds the split, the models and Given-N (default 0)
  --users-fraction F       first keep a seeded share F of the users (all their ratings; e.g. 0.35: far fewer
                           users than items), then split as asked
  --algorithms a,b,…       of ${algorithmNames().join(', ')} (default: the served algorithm, bias, popular)
  --k N                    list length for the ranking metrics (default 10)
  --relevant all|VALUE     relevant held-out items: all of them, or rated ≥ VALUE (default all)
  --given 5,10,20          also evaluate cold users who reveal N ratings (Given-N)
  --cold-users FRACTION    share of users held out for Given-N (default 0.1)
  --given-order random|time   which N ratings a cold user reveals (default random)
  --json FILE              write the report as JSON (and FILE.svg figures)
  model options: --hidden --epochs --lr --weight-decay --momentum --batch-size --orientation --pcd --validation-fraction
  baseline grids (docs/baselines.md): --ease-lambda 50,100,… --ials-factors 64 --ials-regularization 10,30,100
                 --ials-alpha 1,3,10 --ials-iterations 20   (one value pins it)`;

export interface EvaluateCommand {
  data: string;
  spec: FoldSpec;
  algorithms: string[];
  options: FitOptions;
  protocol: RankingProtocol;
  given: { ns: number[]; coldFraction: number; order: 'random' | 'time' } | null;
  /** Share of the users kept before splitting (null: all of them). */
  usersFraction: number | null;
  json: string | undefined;
}

export function parseEvaluateArgs(argv: string[]): EvaluateCommand | 'help' {
  const values = parseFlags(argv, {
    data: { type: 'string' },
    folds: { type: 'string' },
    kfold: { type: 'string' },
    holdout: { type: 'string' },
    split: { type: 'string' },
    'test-fraction': { type: 'string' },
    algorithms: { type: 'string' },
    k: { type: 'string' },
    relevant: { type: 'string' },
    given: { type: 'string' },
    'cold-users': { type: 'string' },
    'given-order': { type: 'string' },
    'users-fraction': { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    ...MODEL_FLAGS,
  });
  if (values.help) return 'help';
  if (!values.data) throw new UsageError('--data <MovieLens folder> is required');
  let options: FitOptions;
  try {
    options = modelOptionsFromFlags(values);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const seed = options.seed ?? 0;
  const chosen = [values.folds, values.kfold, values.holdout, values.split].filter((v) => v !== undefined).length;
  if (chosen !== 1) throw new UsageError('give exactly one of --folds u1,u2,… | --kfold K | --holdout FRACTION | --split user-stratified');
  let spec: FoldSpec;
  if (values.folds)
    spec = {
      kind: 'published',
      names: values.folds
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    };
  else if (values.kfold) spec = { kind: 'kfold', k: integerFlag(values.kfold, 'kfold', 2, 1000)!, seed };
  else if (values.holdout) spec = { kind: 'holdout', fraction: numberFlag(values.holdout, 'holdout', 1e-9, 1 - 1e-9)!, seed };
  else {
    if (values.split !== 'user-stratified') throw new UsageError(`--split must be "user-stratified", got "${values.split}"`);
    spec = { kind: 'user-stratified', fraction: numberFlag(values['test-fraction'] ?? '0.25', 'test-fraction', 1e-9, 1 - 1e-9)!, seed };
  }
  if (values['test-fraction'] !== undefined && spec.kind !== 'user-stratified')
    throw new UsageError('--test-fraction goes with --split user-stratified');

  const served = resolveAlgorithm(undefined, options);
  const algorithms =
    values.algorithms === undefined
      ? [served, 'bias', 'popular']
      : values.algorithms
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean);
  for (const name of algorithms) {
    try {
      getAlgorithm(name);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  if (new Set(algorithms).size !== algorithms.length)
    throw new UsageError(`--algorithms lists an algorithm twice: ${algorithms.join(',')}`);
  const k = integerFlag(values.k ?? '10', 'k', 1, 1000)!;
  const relevant = values.relevant === undefined || values.relevant === 'all' ? 'all' : numberFlag(values.relevant, 'relevant', -1e9, 1e9)!;
  let given: EvaluateCommand['given'] = null;
  if (values.given !== undefined) {
    const ns = values.given.split(',').map((n) => integerFlag(n.trim(), 'given', 1, 100_000)!);
    const order = values['given-order'] ?? 'random';
    if (order !== 'random' && order !== 'time') throw new UsageError(`--given-order must be "random" or "time", got "${order}"`);
    given = { ns, coldFraction: numberFlag(values['cold-users'] ?? '0.1', 'cold-users', 1e-9, 1 - 1e-9)!, order };
  } else if (values['cold-users'] !== undefined || values['given-order'] !== undefined) {
    throw new UsageError('--cold-users and --given-order go with --given N,…');
  }
  const usersFraction = values['users-fraction'] === undefined ? null : numberFlag(values['users-fraction'], 'users-fraction', 1e-9, 1)!;
  if (usersFraction !== null && spec.kind === 'published')
    throw new UsageError('--users-fraction cannot restrict the published split files (--folds); use --split, --kfold or --holdout');
  return { data: values.data, spec, algorithms, options, protocol: { k, relevant }, given, usersFraction, json: values.json };
}

/** The figures of a table row. */
const row = (name: string, f: Omit<AlgorithmRow, 'name'>): AlgorithmRow => ({ name, ...f });

/**
 * The older report's fields for the served algorithm, so scripts reading `mean.rmse`,
 * `baselines.bias.rmse` or `folds[]` keep working.
 */
function legacyFields(folds: readonly Fold[], served: AlgorithmResult, bias: AlgorithmResult | undefined) {
  const globalMeanFold = (f: Fold) => {
    const mu = globalMean(f.train);
    const actual = Array.from(f.test.levels, (l) => f.test.ratingLevels[l]);
    return errorMetrics(new Float64Array(actual.length).fill(mu), actual);
  };
  const gm = folds.map(globalMeanFold);
  const mean = (xs: (number | null)[]) =>
    xs.some((x) => x === null) ? null : xs.reduce<number>((s, x) => s + (x as number), 0) / xs.length;
  return {
    mean: { rmse: served.mean.rmse, mae: served.mean.mae },
    baselines: {
      globalMean: { rmse: mean(gm.map((g) => g.rmse)), mae: mean(gm.map((g) => g.mae)) },
      bias: bias ? { rmse: bias.mean.rmse, mae: bias.mean.mae } : null,
    },
    folds: served.folds.map((f, n) => ({
      name: f.fold,
      rmse: f.rmse,
      mae: f.mae,
      trainSeconds: f.trainSeconds,
      epochs: f.training.epochs ?? 0,
      testRatings: f.testRatings,
      baselines: { globalMean: gm[n], bias: bias ? { rmse: bias.folds[n].rmse, mae: bias.folds[n].mae } : null },
      components: f.training.validation ?? {},
      curve: f.training.curve ?? [],
    })),
  };
}

export async function runEvaluate(command: EvaluateCommand, log: (line: string) => void = (l) => process.stderr.write(l + '\n')) {
  const backend = await initBackend();
  const { spec, algorithms, options, protocol } = command;
  const needTimestamps = command.given?.order === 'time';
  const loaded: Dataset | null =
    spec.kind === 'published' && !command.given ? null : await loadDataset(command.data, { withTimestamps: needTimestamps });
  const data = loaded && command.usersFraction !== null ? sampleUsers(loaded, command.usersFraction, options.seed ?? 0) : loaded;
  if (data && command.usersFraction !== null)
    log(
      `--users-fraction ${command.usersFraction}: ${data.userIds.length} users, ${data.itemIds.length} items, ${data.users.length} ratings`,
    );
  const folds = await loadFolds(command.data, spec, data ?? undefined);
  const totalFolds = folds.length * algorithms.length;
  let done = 0;
  const results = await evaluateAlgorithms(folds, algorithms, options, protocol, {
    onEpoch: (where, r) =>
      progressLine(`${where} ${r.phase} ${bar(done / totalFolds)} epoch ${r.epoch} validation ${r.validationRmse?.toFixed(4) ?? '-'}`),
    onFoldDone: (name, f) => {
      done++;
      endProgress();
      const rmse = f.rmse === null ? '' : `RMSE ${f.rmse.toFixed(4)}, `;
      log(
        `${f.fold} ${name}: ${rmse}P@${protocol.k} ${f.precision?.toFixed(4)}, nDCG@${protocol.k} ${f.ndcg?.toFixed(4)} (fit ${f.trainSeconds.toFixed(1)} s, ranking ${f.evaluateSeconds.toFixed(2)} s) [${done}/${totalFolds}]`,
      );
    },
  });
  let given: GivenResult[] = [];
  if (command.given && data) {
    const split = givenNColdUsers(data, {
      coldFraction: command.given.coldFraction,
      given: command.given.ns,
      seed: options.seed ?? 0,
      order: command.given.order,
    });
    given = await evaluateGivenN(split, algorithms, options, protocol, {
      onStage: log,
      onEpoch: (where, r) => progressLine(`${where} ${r.phase} epoch ${r.epoch}`),
    });
    endProgress();
  }
  const served = results[0];
  const report = {
    protocol: {
      data: command.data,
      split: spec,
      k: protocol.k,
      relevant: protocol.relevant,
      seed: options.seed ?? 0,
      given: command.given,
      usersFraction: command.usersFraction,
      users: data?.userIds.length ?? null,
      items: data?.itemIds.length ?? null,
      backend,
    },
    // Per-user figures stay out of the report (thousands of numbers per fold); their paired differences go in.
    algorithms: results.map((r) => ({
      name: r.name,
      description: r.description,
      folds: r.folds.map(({ perUser: _perUser, ...f }) => f),
      mean: r.mean,
    })),
    given: given.map((g) => ({ n: g.n, skipped: g.skipped, algorithms: g.algorithms.map(({ perUser: _perUser, ...a }) => a) })),
    paired: {
      reference: served.name,
      split: results.slice(1).map((r) => ({
        name: r.name,
        ...pairedDifference(
          served.folds.map((f) => f.perUser),
          r.folds.map((f) => f.perUser),
        ),
      })),
      given: given.map((g) => ({
        n: g.n,
        algorithms: g.algorithms.slice(1).map((a) => ({ name: a.name, ...pairedDifference([g.algorithms[0].perUser], [a.perUser]) })),
      })),
    },
    served: served.name,
    ...legacyFields(
      folds,
      served,
      results.find((r) => r.name === 'bias'),
    ),
  };
  return report;
}

export type EvaluationJson = Awaited<ReturnType<typeof runEvaluate>>;

/** The terminal tables: one for the split, one per Given-N. */
export function formatEvaluation(report: EvaluationJson): string {
  const { k, relevant } = report.protocol;
  const splitName = report.protocol.split.kind;
  const { usersFraction, users, items } = report.protocol;
  const sampled = usersFraction === null ? '' : ` of ${users} users (share ${usersFraction}) × ${items} items`;
  const parts = [
    formatAlgorithmTable(
      report.algorithms.map((a) => row(a.name, a.mean)),
      {
        k,
        title: `${splitName}${sampled}, ${report.algorithms[0].folds.length} fold(s), k = ${k}, relevant = ${relevant === 'all' ? 'every held-out item' : `held-out rating ≥ ${relevant}`}`,
      },
    ),
  ];
  parts.push(formatPairedTable(report.paired.reference, report.paired.split, { k }));
  for (const [p, g] of report.given.entries()) {
    parts.push(
      formatAlgorithmTable(
        g.algorithms.map((a) => row(a.name, a)),
        {
          k,
          title: `Given-${g.n} cold users (${g.algorithms[0]?.users ?? 0} measured, ${g.skipped} skipped: fewer than ${g.n} + 5 ratings)`,
        },
      ),
    );
    parts.push(formatPairedTable(report.paired.reference, report.paired.given[p].algorithms, { k }));
  }
  return parts.filter((part) => part !== '').join('\n\n');
}

export async function evaluateMain(argv: string[]): Promise<void> {
  const command = parseEvaluateArgs(argv);
  if (command === 'help') {
    process.stdout.write(`${EVALUATE_USAGE}\n`);
    return;
  }
  const report = await runEvaluate(command);
  process.stdout.write(`${formatEvaluation(report)}\n`);
  if (command.json) {
    mkdirSync(dirname(command.json), { recursive: true });
    writeFileSync(command.json, JSON.stringify(report, null, 2));
    const svgPath = command.json.replace(/\.json$/i, '') + '.svg';
    const k = command.protocol.k;
    writeFileSync(
      svgPath,
      evaluationSvg({
        curves: report.algorithms.flatMap((a) =>
          a.folds
            .filter((f) => (f.training.curve ?? []).length > 0)
            .map((f) => ({ label: `${a.name} ${f.fold}`, curve: f.training.curve ?? [] })),
        ),
        charts: [
          {
            title: `nDCG@${k} per algorithm`,
            metric: `nDCG@${k}`,
            bars: report.algorithms.map((a) => ({ name: a.name, value: a.mean.ndcg })),
          },
          ...report.given.map((g) => ({
            title: `Given-${g.n} cold users: nDCG@${k}`,
            metric: `nDCG@${k}`,
            bars: g.algorithms.map((a) => ({ name: a.name, value: a.ndcg })),
          })),
        ],
      }),
    );
    process.stdout.write(`wrote ${command.json} and ${svgPath}\n`);
  }
}
