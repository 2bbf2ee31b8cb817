/**
 * `npm run tune`: the served ranking's settings chosen on validation carved from the training part
 * (eval/tuning.ts), so the choice recorded in docs/ranking.md can be re-run. Prints one line per grid
 * point as it finishes, then the table and the choice; `--json` writes the report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadDataset } from '../eval/loadFolds.js';
import { algorithmNames } from '../model/algorithms.js';
import { sampleUsers } from '../eval/splits.js';
import { gridOf, tuneRanking, type GridFigures, type GridPoint, type GridRow, type TuningReport } from '../eval/tuning.js';
import { formatPairedTable } from '../eval/report.js';
import { initBackend } from '../rbm/backend.js';
import { integerFlag, numberFlag, parseFlags, UsageError } from './common.js';
import { endProgress, progressLine } from './progress.js';

export const TUNE_USAGE = `usage: npm run tune -- --data <MovieLens folder> --split user-stratified [options]
  --test-fraction F     each user's share in the test part (set aside, never read) and again in the
                        validation part carved from the training part (default 0.25)
  --validation-fraction F  each user's share of the training part in the validation part (default: the
                        test fraction; smaller leaves a fit part nearer the whole training part's size)
  --seed N              seeds the split (validation: N + 1), the models and the cold users (default 0)
  --seeds 0,1,2         train each grid point's implicit RBM once per seed and compare the means (the
                        spread is printed: one training's validation nDCG moves by about ±0.005 from seed
                        to seed; default: --seed alone)
  --users-fraction F    keep a seeded share F of the users first (e.g. 0.35: far fewer users than items)
  --k N                 list length (default 10)
  --baselines ease,ials  also fit these algorithms on the fit part and measure them on the same
                        validation part (yardsticks; each tunes itself inside its fit)
  --grid "key=v,v key=v,…"   implicit RBM options to try, every combination (default: the served
                        options alone); keys are the option names (lr, weightDecay, epochs, patience,
                        hidden, hiddenUnits, activityExponent, members, …) and likeExponent (γ of
                        watch-like's p(watch) · p(like)^γ); values numbers, true/false or words
                        (hiddenUnits=gaussian,binary)
  --given 5,10,20       also choose the cold-user popularity prior n₀ on Given-N users of the training part
  --priors 0,5,10       the n₀ values to try with --given (default 0,2,5,10,20,40)
  --cold-users F        share of the training part's users held out for --given (default 0.1)
  --json FILE           write the report as JSON`;

export interface TuneCommand {
  data: string;
  testFraction: number;
  validationFraction: number | null;
  seed: number;
  /** The implicit RBM's seeds per grid point (eval/tuning.ts TuningSpec.seeds). */
  seeds: number[];
  usersFraction: number | null;
  k: number;
  baselines: string[];
  grid: GridPoint[];
  cold: { ns: number[]; priors: number[]; coldFraction: number } | null;
  json: string | undefined;
}

/** `key=v,v key=v` → every combination, each checked against the implicit RBM's options. */
export function parseGrid(raw: string): GridPoint[] {
  const values: Record<string, (number | boolean | string)[]> = {};
  for (const part of raw.trim().split(/\s+/).filter(Boolean)) {
    const at = part.indexOf('=');
    if (at <= 0 || at === part.length - 1) throw new UsageError(`--grid: "${part}" must look like key=value,value (e.g. lr=0.02,0.05)`);
    const key = part.slice(0, at);
    if (key in values) throw new UsageError(`--grid names ${key} twice`);
    values[key] = part
      .slice(at + 1)
      .split(',')
      .map((v) => {
        if (v === 'true' || v === 'false') return v === 'true';
        // A word is an option's named value (e.g. hiddenUnits=gaussian); gridOf checks it is one.
        if (/^[a-z]+$/i.test(v)) return v;
        const x = Number(v);
        if (v.trim() === '' || !Number.isFinite(x))
          throw new UsageError(`--grid: ${key} value "${v}" must be a number, true/false or a word`);
        return x;
      });
  }
  if (Object.keys(values).length === 0) throw new UsageError('--grid is empty; expected key=value,value …');
  try {
    return gridOf(values);
  } catch (error) {
    throw new UsageError(`--grid: ${(error as Error).message}`);
  }
}

function parseBaselines(raw: string): string[] {
  const names = raw.split(',').map((v) => v.trim());
  for (const name of names) {
    if (!algorithmNames().includes(name))
      throw new UsageError(`--baselines: unknown algorithm "${name}"; expected one of ${algorithmNames().join(', ')}`);
  }
  if (new Set(names).size !== names.length) throw new UsageError(`--baselines lists an algorithm twice (${raw})`);
  return names;
}

const listFlag = (raw: string, flag: string, min: number, max: number, integer: boolean): number[] =>
  raw.split(',').map((v) => (integer ? integerFlag(v.trim(), flag, min, max)! : numberFlag(v.trim(), flag, min, max)!));

export function parseTuneArgs(argv: string[]): TuneCommand | 'help' {
  const values = parseFlags(argv, {
    data: { type: 'string' },
    split: { type: 'string' },
    'test-fraction': { type: 'string' },
    'validation-fraction': { type: 'string' },
    seed: { type: 'string' },
    seeds: { type: 'string' },
    'users-fraction': { type: 'string' },
    k: { type: 'string' },
    baselines: { type: 'string' },
    grid: { type: 'string' },
    given: { type: 'string' },
    priors: { type: 'string' },
    'cold-users': { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  if (!values.data) throw new UsageError('--data <MovieLens folder> is required');
  if (values.split !== 'user-stratified') {
    throw new UsageError(
      `--split user-stratified is required (the split whose training part is tuned on), got ${JSON.stringify(values.split ?? null)}`,
    );
  }
  if (values.given === undefined && (values.priors !== undefined || values['cold-users'] !== undefined)) {
    throw new UsageError('--priors and --cold-users go with --given N,…');
  }
  const ns = values.given === undefined ? null : listFlag(values.given, 'given', 1, 100_000, true);
  if (ns && new Set(ns).size !== ns.length) throw new UsageError(`--given lists an N twice (${values.given})`);
  const seed = integerFlag(values.seed ?? '0', 'seed', 0, 2 ** 31 - 2)!;
  const seeds = values.seeds === undefined ? [seed] : listFlag(values.seeds, 'seeds', 0, 2 ** 31 - 2, true);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds lists a seed twice (${values.seeds})`);
  return {
    data: values.data,
    testFraction: numberFlag(values['test-fraction'] ?? '0.25', 'test-fraction', 1e-9, 0.9)!,
    validationFraction:
      values['validation-fraction'] === undefined ? null : numberFlag(values['validation-fraction'], 'validation-fraction', 1e-9, 0.9)!,
    seed,
    seeds,
    usersFraction: values['users-fraction'] === undefined ? null : numberFlag(values['users-fraction'], 'users-fraction', 1e-9, 1)!,
    k: integerFlag(values.k ?? '10', 'k', 1, 1000)!,
    baselines: values.baselines === undefined ? [] : parseBaselines(values.baselines),
    grid: values.grid === undefined ? [{}] : parseGrid(values.grid),
    cold: ns
      ? {
          ns,
          priors: listFlag(values.priors ?? '0,2,5,10,20,40', 'priors', 0, 1e6, false),
          coldFraction: numberFlag(values['cold-users'] ?? '0.1', 'cold-users', 1e-9, 1 - 1e-9)!,
        }
      : null,
    json: values.json,
  };
}

const describe = (p: GridPoint): string =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ') || '(served options)';

/** The mean, and with several seeds the range over them: "0.2491 (0.2457–0.2520)". */
function figure(r: GridRow, key: keyof GridFigures): string {
  const mean = r[key].toFixed(4);
  if (r.perSeed.length < 2) return mean;
  const xs = r.perSeed.map((f) => f[key]);
  return `${mean} (${Math.min(...xs).toFixed(4)}–${Math.max(...xs).toFixed(4)})`;
}

const rowLine = (r: GridRow, k: number): string =>
  `P@${k} ${figure(r, 'precision')}  nDCG@${k} ${figure(r, 'ndcg')}  nDCG@${k} liked ${figure(r, 'ndcgLiked')}  ` +
  `p(watch) ${r.watchPrecision.toFixed(4)}/${figure(r, 'watchNdcg')}  epochs ${r.bestEpochs.join('+')}/${r.epochs.join('+')}  ` +
  `${r.seconds.toFixed(1)} s  ${describe(r.point)}`;

/** The terminal report: the grid, the popular baseline, the choice, and the cold-user prior table. */
export function formatTuning(report: TuningReport, k: number): string {
  const lines = [
    `validation carved from the training part: ${report.validationUsers} users, ${report.items} items, ` +
      `${report.validationRatings} ratings (fit part ${report.fitRatings})`,
    `popular: P@${k} ${report.popular.precision.toFixed(4)}  nDCG@${k} ${report.popular.ndcg.toFixed(4)}  nDCG@${k} liked ${report.popular.ndcgLiked.toFixed(4)}`,
    ...report.baselines.map(
      (b) =>
        `${b.name}: P@${k} ${b.precision.toFixed(4)}  nDCG@${k} ${b.ndcg.toFixed(4)}  nDCG@${k} liked ${b.ndcgLiked.toFixed(4)}  ${b.seconds.toFixed(1)} s`,
    ),
    ...report.rows.map((r, n) => `${n === report.best ? '*' : ' '} ${rowLine(r, k)}`),
    `chosen (highest ${report.rows[0].perSeed.length > 1 ? 'mean ' : ''}validation nDCG@${k}): ${describe(report.rows[report.best].point)}`,
  ];
  if (report.paired.length > 0) lines.push(formatPairedTable('the chosen point', report.paired, { k }));
  if (report.cold) {
    const c = report.cold;
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(4)).join('  ');
    lines.push(`cold users (Given-${c.ns.join('/')}, nDCG@${k}), with ${describe(c.point)}:`);
    lines.push(`  popular    ${fmt(c.popular.ndcg)}`);
    for (const [n, r] of c.rows.entries()) lines.push(`${n === c.best ? '*' : ' '} n0=${String(r.prior).padEnd(6)} ${fmt(r.ndcg)}`);
    lines.push(`chosen prior n0 = ${c.rows[c.best].prior} (highest mean validation nDCG@${k} over the Ns)`);
  }
  return lines.join('\n');
}

export async function tuneMain(argv: string[]): Promise<void> {
  const command = parseTuneArgs(argv);
  if (command === 'help') {
    process.stdout.write(`${TUNE_USAGE}\n`);
    return;
  }
  await initBackend();
  const all = await loadDataset(command.data);
  const data = command.usersFraction === null ? all : sampleUsers(all, command.usersFraction, command.seed);
  const report = await tuneRanking(
    data,
    {
      testFraction: command.testFraction,
      ...(command.validationFraction === null ? {} : { validationFraction: command.validationFraction }),
      seed: command.seed,
      seeds: command.seeds,
      k: command.k,
      baselines: command.baselines,
      grid: command.grid,
      base: {},
      cold: command.cold,
    },
    {
      onEpoch: (where, r) =>
        progressLine(`${where} epoch ${r.epoch} validation ${r.validationRmse === null ? '-' : (1 - r.validationRmse).toFixed(4)}`),
      onRow: (r) => {
        endProgress();
        process.stderr.write(`${rowLine(r, command.k)}\n`);
      },
      onStage: (line) => {
        endProgress();
        process.stderr.write(`${line}\n`);
      },
    },
  );
  endProgress();
  process.stdout.write(`${formatTuning(report, command.k)}\n`);
  if (command.json) {
    mkdirSync(dirname(command.json), { recursive: true });
    writeFileSync(command.json, JSON.stringify({ command: { ...command, grid: command.grid }, report }, null, 2));
    process.stdout.write(`wrote ${command.json}\n`);
  }
}
