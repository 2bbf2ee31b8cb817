/**
 * The measurement a benchmark child runs for one case: load or generate the data, build both
 * orientations' compressed rows, time CD epochs of the default model's RBMs (user, then item, as
 * fitRecommender trains them), and for cases that ask for it time batch scoring of all users × all items.
 */
import { compressRows, type CompressedRows, type Dataset } from '../data/dataset.js';
import type { UserInput } from '../model/index.js';
import { cdStepsAt, DEFAULT_TRAIN_OPTIONS, type Orientation, type RbmOptions } from '../rbm/config.js';
import { RbmBlendModel } from '../model/rbmBlend.js';
import { fitRbmBlend } from '../model/rbmFit.js';
import type { RbmParams } from '../rbm/params.js';
import { trainRbm } from '../rbm/train.js';
import { findCase, type CaseContext } from './cases.js';
import { runPipeline } from './pipeline.js';
import { watchOtherLoad } from './contention.js';
import { currentRssMB, peakRssMB } from './rss.js';
import {
  THREAD_ROUNDS,
  type CaseResult,
  type ImplicitEpochResult,
  type OrientationResult,
  type ScoringResult,
  type StageEvent,
} from './types.js';

const MIB = 1024 * 1024;
/** Epochs of the quick model that batch scoring is timed on (the scoring cost does not depend on them). */
const SCORING_MODEL_EPOCHS = 2;
const SCORING_BLOCK_SIZE = 256;

export type StageListener = (event: StageEvent) => void;

const seconds = (since: number): number => (performance.now() - since) / 1000;

/** Mean of the epochs after the first when there are several (the first carries JIT warm-up), else the first. */
export function steadyMean(epochSeconds: readonly number[]): number {
  if (epochSeconds.length === 0) return NaN;
  const timed = epochSeconds.length > 1 ? epochSeconds.slice(1) : epochSeconds;
  return timed.reduce((a, b) => a + b, 0) / timed.length;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The order in which the runs of `counts` thread counts go: round by round, every other round reversed
 * (1, 2, 2, 1, 1, 2 for two counts and three rounds), so no count always runs first after a switch.
 * Each entry is an index into the counts.
 */
export function interleavedRuns(counts: number, rounds: number): number[] {
  const order: number[] = [];
  for (let r = 0; r < rounds; r++) for (let n = 0; n < counts; n++) order.push(r % 2 === 0 ? n : counts - 1 - n);
  return order;
}

/** Each run's epochs after its first (its warm-up: JIT, the threads' start), all runs together. */
function steadyEpochs(runs: readonly (readonly number[])[]): number[] {
  return runs.flatMap((epochs) => (epochs.length > 1 ? epochs.slice(1) : epochs));
}

/** What one timed run of a thread count reports (the fields `mergeRuns` combines). */
interface ThreadCountRun {
  epochSeconds: number[];
  secondsPerEpoch: number;
  epochCpuSeconds: number[];
  cpuSecondsPerEpoch: number;
  otherCores?: number | null;
}

/** Several runs of one thread count as one result: every epoch in order, the medians of the steady ones. */
export function mergeRuns<T extends ThreadCountRun>(runs: readonly T[]): T {
  if (runs.length === 1) return runs[0];
  const others = runs.map((r) => r.otherCores);
  return {
    ...runs[runs.length - 1],
    ...(others.every((x) => typeof x === 'number') ? { otherCores: others.reduce((a, b) => a + b, 0) / others.length } : {}),
    epochSeconds: runs.flatMap((r) => r.epochSeconds),
    secondsPerEpoch: median(steadyEpochs(runs.map((r) => r.epochSeconds))),
    epochCpuSeconds: runs.flatMap((r) => r.epochCpuSeconds),
    cpuSecondsPerEpoch: median(steadyEpochs(runs.map((r) => r.epochCpuSeconds))),
  };
}

/** `time(count)` for every thread count, interleaved in THREAD_ROUNDS rounds when there are several. */
async function byThreadCount<T extends ThreadCountRun>(
  counts: readonly number[],
  time: (threads: number) => T | Promise<T>,
  merge: (runs: T[]) => T = mergeRuns,
): Promise<T[]> {
  const runs: T[][] = counts.map(() => []);
  for (const n of interleavedRuns(counts.length, counts.length > 1 ? THREAD_ROUNDS : 1)) runs[n].push(await time(counts[n]));
  return runs.map(merge);
}

function timeOrientation(
  orientation: Orientation,
  rows: CompressedRows,
  ratingLevels: readonly number[],
  epochs: number,
  threads: number,
  onStage: StageListener,
): { result: OrientationResult; params: RbmParams } {
  // The default model's options for this orientation; only the epoch count is the benchmark's.
  const options: RbmOptions = { ...DEFAULT_TRAIN_OPTIONS[orientation], epochs };
  const seed = DEFAULT_TRAIN_OPTIONS.seed * 2 + (orientation === 'user' ? 1 : 2);
  const epochSeconds: number[] = [];
  const epochCpuSeconds: number[] = [];
  let cpuMark = process.cpuUsage();
  const otherLoad = watchOtherLoad();
  const trained = trainRbm(
    { phase: orientation, train: rows, validation: null, ratingLevels, options, seed, threads },
    {
      onEpoch: (report) => {
        const cpu = process.cpuUsage(cpuMark);
        epochCpuSeconds.push((cpu.user + cpu.system) / 1e6);
        epochSeconds.push(report.seconds);
        onStage({
          stage: `${orientation} epoch ${report.epoch}${threads > 1 ? ` (${threads} threads)` : ''}`,
          seconds: report.seconds,
          rssMB: currentRssMB(),
          detail: { cdSteps: report.cdSteps, trainRmse: report.trainRmse, cpuSeconds: epochCpuSeconds.at(-1) },
        });
        cpuMark = process.cpuUsage();
      },
    },
  );
  const { visibles: V, levels: K, hidden: F } = trained.params;
  const epochTotal = epochSeconds.reduce((a, b) => a + b, 0);
  return {
    params: trained.params,
    result: {
      rows: rows.rows,
      cols: rows.cols,
      cdSteps: cdStepsAt(options.cdSchedule, 1),
      epochSeconds,
      secondsPerEpoch: steadyMean(epochSeconds),
      epochCpuSeconds,
      cpuSecondsPerEpoch: steadyMean(epochCpuSeconds),
      setupSeconds: Math.max(0, trained.seconds - epochTotal),
      paramsMB: ((V * K * F + V * K + F) * 4) / MIB,
      workspaceMB:
        (trained.kernels === 'wasm'
          ? // The module's copy of W, b, c and vW, vb, vc; lastStep, touched, isTouched; the cases (column,
            // level, row start) and the epoch's order.
            2 * (V * K * F + V * K + F) * 4 + V * 9 + rows.colIndex.length * 5 + rows.rows * 8
          : // gW, vW; gb, vb; gc, vc; touched, isTouched, lastStep.
            2 * (V * K * F + V * K + F) * 4 + V * 9) / MIB,
      kernels: trained.kernels,
      threads: trained.kernels === 'wasm' ? threads : 1,
      peakRssAfterMB: peakRssMB(),
      otherCores: otherLoad(),
    },
  };
}

async function timeScoring(dataset: Dataset, onStage: StageListener): Promise<ScoringResult> {
  // tfjs is loaded only by the cases that score, so it does not weigh on the training-only cases' RSS.
  const { initBackend, tf } = await import('../rbm/backend.js');
  let t = performance.now();
  const fitted = (await fitRbmBlend(dataset, { epochs: SCORING_MODEL_EPOCHS })).model;
  const modelFitSeconds = seconds(t);
  // A briefly trained blend may give an RBM component zero weight, and scoreUsers skips such components:
  // time the full path, both RBMs and the bias baseline (the cost does not depend on the weights' values).
  const model = new RbmBlendModel({ ...fitted.parts, mixture: { user: 0.4, item: 0.4, bias: 0.2 } });
  onStage({ stage: 'scoring model fit', seconds: modelFitSeconds, rssMB: currentRssMB() });

  t = performance.now();
  const backend = await initBackend();
  const backendInitSeconds = seconds(t);
  onStage({ stage: 'backend init', seconds: backendInitSeconds, rssMB: currentRssMB(), detail: { backend } });

  const byUser = compressRows(dataset, 'user');
  const users: UserInput[] = [];
  for (let u = 0; u < byUser.rows; u++) {
    const s = byUser.rowStart[u];
    const e = byUser.rowStart[u + 1];
    users.push({ ratings: { items: byUser.colIndex.subarray(s, e), levels: byUser.levels.subarray(s, e) }, userIndex: u });
  }
  if (!model.parts.user || !model.parts.item) throw new Error('the scored model lacks an RBM orientation');
  const tensorsBefore = tf.memory().numTensors;
  const pass = async (label: string): Promise<number> => {
    const started = performance.now();
    let rowsSeen = 0;
    let checksum = 0;
    for (let from = 0; from < users.length; from += SCORING_BLOCK_SIZE) {
      for (const { score: row } of model.scoreUsers(users.slice(from, from + SCORING_BLOCK_SIZE))) {
        if (row.length !== model.itemIds.length)
          throw new Error(`scoreUsers returned ${row.length} scores for ${model.itemIds.length} items`);
        checksum += row[rowsSeen % row.length];
        rowsSeen++;
      }
    }
    const elapsed = seconds(started);
    if (rowsSeen !== users.length) throw new Error(`scoreUsers returned ${rowsSeen} rows for ${users.length} users`);
    if (!Number.isFinite(checksum)) throw new Error('scoreUsers returned non-finite scores');
    onStage({ stage: label, seconds: elapsed, rssMB: currentRssMB() });
    return elapsed;
  };
  const cold = await pass('scoring pass 1');
  const warm = await pass('scoring pass 2');
  model.dispose();
  fitted.dispose();
  return {
    backend,
    users: users.length,
    items: model.itemIds.length,
    seconds: cold,
    warmSeconds: warm,
    backendInitSeconds,
    fittedMixture: { ...fitted.parts.mixture },
    modelFitSeconds,
    modelEpochs: SCORING_MODEL_EPOCHS,
    blockSize: SCORING_BLOCK_SIZE,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
  };
}

/**
 * The implicit RBM's epochs as the served model trains them (fitImplicitRbm, served options, validation
 * slice carved from the data), `epochs` of them without early stopping or the data-scaled budget, on
 * `threads` threads. Loaded lazily like the scoring: it brings tfjs.
 */
async function timeImplicit(dataset: Dataset, epochs: number, threads: number, onStage: StageListener): Promise<ImplicitEpochResult> {
  const { fitImplicitRbm } = await import('../rbm/implicit.js');
  const { negativePhaseFor } = await import('../rbm/implicitTrain.js');
  // Per member kind: the CD member ('implicit') and the pseudo-likelihood one ('implicit-pl').
  const timed = { implicit: { wall: [] as number[], cpu: [] as number[] }, 'implicit-pl': { wall: [] as number[], cpu: [] as number[] } };
  let cpuMark = process.cpuUsage();
  const otherLoad = watchOtherLoad();
  const model = await fitImplicitRbm(dataset, { epochs, patience: epochs, scaleEpochs: false, threads }, (report) => {
    const cpu = process.cpuUsage(cpuMark);
    const into = report.phase === 'implicit-pl' ? timed['implicit-pl'] : timed.implicit;
    into.cpu.push((cpu.user + cpu.system) / 1e6);
    into.wall.push(report.seconds);
    onStage({
      stage: `${report.phase} epoch ${report.epoch}${threads > 1 ? ` (${threads} threads)` : ''}`,
      seconds: report.seconds,
      rssMB: currentRssMB(),
      detail: { validationNdcg: report.validationRmse === null ? null : 1 - report.validationRmse, cpuSeconds: into.cpu.at(-1) },
    });
    cpuMark = process.cpuUsage();
  });
  const { options, params } = model;
  model.dispose();
  return {
    users: dataset.userIds.length,
    items: params.items,
    hidden: params.hidden,
    batchSize: options.batchSize,
    negativePhase: negativePhaseFor(options, params.items),
    threads,
    epochSeconds: timed.implicit.wall,
    secondsPerEpoch: steadyMean(timed.implicit.wall),
    epochCpuSeconds: timed.implicit.cpu,
    cpuSecondsPerEpoch: steadyMean(timed.implicit.cpu),
    ...(timed['implicit-pl'].wall.length > 0
      ? {
          pseudoLikelihood: {
            epochSeconds: timed['implicit-pl'].wall,
            secondsPerEpoch: steadyMean(timed['implicit-pl'].wall),
            epochCpuSeconds: timed['implicit-pl'].cpu,
            cpuSecondsPerEpoch: steadyMean(timed['implicit-pl'].cpu),
          },
        }
      : {}),
    peakRssAfterMB: peakRssMB(),
    otherCores: otherLoad(),
  };
}

/** mergeRuns for the implicit RBM: its CD member's epochs, and the pseudo-likelihood member's alike. */
function mergeImplicitRuns(runs: ImplicitEpochResult[]): ImplicitEpochResult {
  const merged = mergeRuns(runs);
  const pl = runs.flatMap((r) => (r.pseudoLikelihood ? [r.pseudoLikelihood] : []));
  return {
    ...merged,
    ...(pl.length === runs.length && pl.length > 0 ? { pseudoLikelihood: mergeRuns(pl) } : {}),
    peakRssAfterMB: Math.max(...runs.map((r) => r.peakRssAfterMB)),
  };
}

/** Runs one case in this process. Peak RSS is the process's, so run each case in a fresh process. */
export async function runCase(
  name: string,
  epochs: number | undefined,
  context: CaseContext,
  onStage: StageListener = () => {},
): Promise<CaseResult> {
  const benchCase = findCase(name);
  const epochCount = epochs ?? benchCase.defaultEpochs;
  if (benchCase.pipeline)
    return runPipeline(name, benchCase.description, benchCase.pipeline, epochCount, onStage, { scoreUsers: context.scoreUsers });
  if (!benchCase.load) throw new Error(`bench case ${name} has neither data to load nor a pipeline`);

  let t = performance.now();
  const dataset = await benchCase.load(context);
  const dataSeconds = seconds(t);
  const ratings = dataset.levels.length;
  onStage({
    stage: 'data',
    seconds: dataSeconds,
    rssMB: currentRssMB(),
    detail: { ratings, users: dataset.userIds.length, items: dataset.itemIds.length },
  });

  t = performance.now();
  const byUser = compressRows(dataset, 'user');
  const byItem = compressRows(dataset, 'item');
  const compressSeconds = seconds(t);
  onStage({ stage: 'compress', seconds: compressSeconds, rssMB: currentRssMB() });

  // `user` (with its parameters) stays reachable while the item RBM trains, as in fitRecommender, so the
  // training peak is the default model's.
  // Each orientation at each thread count (the first is the headline figure).
  const threadCounts = context.threads ?? [1];
  const timed = (orientation: Orientation, rows: CompressedRows) =>
    byThreadCount(
      threadCounts,
      (threads) => timeOrientation(orientation, rows, dataset.ratingLevels, epochCount, threads, onStage).result,
      (runs) => ({
        ...mergeRuns(runs),
        setupSeconds: median(runs.map((r) => r.setupSeconds)),
        peakRssAfterMB: Math.max(...runs.map((r) => r.peakRssAfterMB)),
      }),
    );
  const users = await timed('user', byUser);
  const items = await timed('item', byItem);
  const [user, item] = [users[0], items[0]];
  const trainingPeakRssMB = peakRssMB();

  const scoring = benchCase.scoring ? await timeScoring(dataset, onStage) : undefined;
  const casePeakRssMB = peakRssMB();
  const implicit: ImplicitEpochResult[] = benchCase.implicit
    ? await byThreadCount(threadCounts, (threads) => timeImplicit(dataset, epochCount, threads, onStage), mergeImplicitRuns)
    : [];
  const result: CaseResult = {
    name,
    description: benchCase.description,
    ratings,
    users: dataset.userIds.length,
    items: dataset.itemIds.length,
    levels: dataset.ratingLevels.length,
    hidden: DEFAULT_TRAIN_OPTIONS.user.hidden,
    batchSize: DEFAULT_TRAIN_OPTIONS.user.batchSize,
    negativePhase: DEFAULT_TRAIN_OPTIONS.user.negativePhase,
    secondsPerEpoch: user.secondsPerEpoch + item.secondsPerEpoch,
    userSecondsPerEpoch: user.secondsPerEpoch,
    itemSecondsPerEpoch: item.secondsPerEpoch,
    cpuSecondsPerEpoch: user.cpuSecondsPerEpoch + item.cpuSecondsPerEpoch,
    peakRssMB: casePeakRssMB,
    trainingPeakRssMB,
    dataSeconds,
    compressSeconds,
    orientations: { user, item },
    byThreads: threadCounts.map((threads, n) => ({
      threads,
      user: users[n],
      item: items[n],
      ...(implicit[n] ? { implicit: implicit[n] } : {}),
    })),
    ...(scoring ? { scoring } : {}),
  };
  return result;
}
