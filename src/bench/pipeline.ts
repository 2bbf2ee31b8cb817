/**
 * The whole path at MovieLens 25M's size, as a user would run it, step by step in one process:
 * generate a synthetic latest-layout folder into a temporary directory, import it into a fresh SQLite
 * file (the streamed bulk import), load the training Dataset from SQLite, train the default model (the
 * served `watch-like`: rating blend and implicit RBM) for a few epochs, save it as a model version
 * (chunked tensors), load it back into a servable model, start the real server on the database and time
 * recommendations for random stored users (open loop, at 1 connection and at 100 req/s), and score the
 * top 10 of a sample of users (or all) through the batch scorer. Each step reports its wall and CPU
 * seconds and its own peak RSS: the kernel's high-water mark is reset before each step (Linux
 * /proc/self/clear_refs, "5"), so a step's peak is not an earlier step's. The server is a child process:
 * its peak RSS is read from its /proc status before it stops.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { forEachCatalogRating, readMovieLensCatalog } from '../data/movielens.js';
import { ML25M_SHAPE, writeSyntheticMovieLensFolder } from '../data/syntheticFolder.js';
import { openLoop, type OpenLoopResult } from '../cli/openLoop.js';
import { spawnServer, stopProcess } from '../cli/serverProcess.js';
import { DEFAULT_ALGORITHM, modelFromState, trainModel, type EpochReport, type ModelMeta } from '../model/index.js';
import { Rng } from '../rng.js';
import { initBackend } from '../rbm/backend.js';
import { DEFAULT_TRAIN_OPTIONS } from '../rbm/config.js';
import { openScoringContext } from '../scoring/context.js';
import { writeTopN } from '../scoring/top-n.js';
import { CatalogStore, ModelStore, openDatabase } from '../store/index.js';
import { currentRssMB, peakRssMB } from './rss.js';
import type { CaseResult, PipelineStep, StageEvent } from './types.js';

/** Mean of the epochs after the first (JIT warm-up), or the first alone; as measure.ts's steadyMean. */
function steadyMean(epochSeconds: readonly number[]): number {
  const timed = epochSeconds.length > 1 ? epochSeconds.slice(1) : epochSeconds;
  return timed.length === 0 ? NaN : timed.reduce((a, b) => a + b, 0) / timed.length;
}

export interface PipelineShape {
  users: number;
  items: number;
  ratings: number;
  halfStars: boolean;
}

/** Users whose top 10 the scoring step writes by default, evenly spread over the ids. */
const SCORED_USERS = 2000;
/** The serving step's two loads: ~service time (one connection, well under capacity), and the 100 req/s. */
export const SERVE_LOADS: readonly ServeLoad[] = [
  { label: '1 connection, 10 req/s', connections: 1, rate: 10, seconds: 20 },
  { label: '100 req/s', connections: 32, rate: 100, seconds: 30 },
];

export interface ServeLoad {
  label: string;
  connections: number;
  /** Offered requests per second (open loop). */
  rate: number;
  seconds: number;
}

export interface PipelineOptions {
  /** Users whose top 10 the scoring step writes (default 2,000), or all. */
  scoreUsers?: number | 'all';
  /** The serving step's loads (default SERVE_LOADS). */
  serveLoads?: readonly ServeLoad[];
}

/** A child process's peak RSS in MiB (VmHWM of /proc/<pid>/status), NaN where that cannot be read. */
function childPeakRssMB(pid: number | undefined): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const latency = (r: OpenLoopResult): Record<string, number> => ({
  requests: r.requests,
  ok: r.ok,
  errors: r.errors + r.non2xx,
  p50Ms: r.p50Ms,
  p90Ms: r.p90Ms,
  p99Ms: r.p99Ms,
  maxMs: r.maxMs,
});
const SEED = 42;

/** Resets the peak-RSS mark; false where the kernel does not allow it (then peaks are cumulative). */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export async function runPipeline(
  name: string,
  description: string,
  shape: PipelineShape = ML25M_SHAPE,
  epochs: number,
  onStage: (event: StageEvent) => void,
  { scoreUsers = SCORED_USERS, serveLoads = SERVE_LOADS }: PipelineOptions = {},
): Promise<CaseResult> {
  const steps: PipelineStep[] = [];
  const peaksPerStep = resetPeakRss();
  const step = async <T>(label: string, work: () => T | Promise<T>, detail?: (result: T) => Record<string, unknown>): Promise<T> => {
    resetPeakRss();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = await work();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const record: PipelineStep = {
      step: label,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      peakRssMB: peakRssMB(),
      ...(detail ? { detail: detail(result) } : {}),
    };
    steps.push(record);
    onStage({
      stage: label,
      seconds,
      rssMB: currentRssMB(),
      detail: { cpuSeconds: record.cpuSeconds, peakRssMB: record.peakRssMB, ...record.detail },
    });
    return result;
  };

  const temp = mkdtempSync(join(tmpdir(), 'rbm-bench-pipeline-'));
  try {
    const folder = join(temp, 'ml-synthetic');
    const dbPath = join(temp, 'recommender.db');
    const generated = await step(
      'generate folder',
      () => writeSyntheticMovieLensFolder(folder, { seed: SEED, ...shape }),
      (g) => ({
        ratingsCsvMB: g.ratingsBytes / (1024 * 1024),
      }),
    );

    const imported = await step(
      'import',
      async () => {
        const catalog = await readMovieLensCatalog(folder);
        const db = openDatabase(dbPath);
        try {
          return new CatalogStore(db).importStream({
            source: catalog.source,
            layout: catalog.layout,
            fingerprint: catalog.fingerprint,
            items: catalog.items,
            forEachRating: (emit, progress) => forEachCatalogRating(catalog, emit, progress),
          });
        } finally {
          db.close();
        }
      },
      (s) => ({ users: s.users, items: s.items, ratings: s.ratings }),
    );

    const db = openDatabase(dbPath);
    let userEpochs: number[] = [];
    let itemEpochs: number[] = [];
    let implicitEpochs: number[] = [];
    let storedUserIds: readonly number[] = [];
    try {
      const dataset = await step('load dataset', () => new CatalogStore(db).loadDataset());
      storedUserIds = dataset.userIds;
      const curve: EpochReport[] = [];
      await initBackend();
      const trained = await step(
        'train',
        // The served default: the rating blend (each orientation on every core, as `npm run train` does
        // by default) and the implicit RBM (on this thread meanwhile), each for `epochs` epochs.
        () =>
          trainModel(
            DEFAULT_ALGORITHM,
            dataset,
            // Every core, as `npm run train` by default (--threads).
            { epochs, threads: availableParallelism(), implicit: { epochs } },
            {
              onEpoch: (report) => {
                curve.push(report);
                onStage({
                  stage: `${report.phase} epoch ${report.epoch}`,
                  seconds: report.seconds,
                  rssMB: currentRssMB(),
                  detail: { cdSteps: report.cdSteps },
                });
              },
            },
          ),
        (t) => ({ algorithm: DEFAULT_ALGORITHM, epochs, stages: t.state.meta.training?.stages }),
      );
      userEpochs = curve.filter((r) => r.phase === 'user').map((r) => r.seconds);
      itemEpochs = curve.filter((r) => r.phase === 'item').map((r) => r.seconds);
      implicitEpochs = curve.filter((r) => r.phase === 'implicit').map((r) => r.seconds);
      const state = trained.state;
      const versionId = await step(
        'save model',
        () => new ModelStore<ModelMeta>(db).saveVersion(state.meta, state.tensors),
        () => ({
          tensorMB: Object.values(state.tensors).reduce((sum, t) => sum + t.byteLength, 0) / (1024 * 1024),
        }),
      );
      trained.model.dispose();
      await step(
        'load model',
        () => modelFromState(new ModelStore<ModelMeta>(db).load(versionId)).dispose(),
        () => ({ versionId }),
      );
    } finally {
      db.close();
    }

    // The real server over the saved version, every request scored (precomputed lists off), open loop.
    await step(
      'serve recommendations',
      async () => {
        const started = performance.now();
        const server = spawnServer(dbPath, ['--workers', '1', '--top-lists', '0', '--visitor-workers', '0']);
        try {
          const url = await server.url;
          const startSeconds = (performance.now() - started) / 1000;
          const rng = new Rng(SEED);
          const next = () => ({
            method: 'GET',
            path: `/api/users/${storedUserIds[rng.int(storedUserIds.length)]}/recommendations?limit=10`,
          });
          const loads: Record<string, Record<string, number>> = {};
          for (const load of serveLoads) {
            const r = await openLoop({ url, rate: load.rate, connections: load.connections, durationSeconds: load.seconds, next });
            loads[load.label] = latency(r);
            onStage({ stage: `serve ${load.label}`, seconds: r.seconds, rssMB: currentRssMB(), detail: latency(r) });
          }
          return { startSeconds, loads, serverPeakRssMB: childPeakRssMB(server.child.pid) };
        } finally {
          await stopProcess(server.child);
        }
      },
      (r) => r,
    );

    const usersScored = scoreUsers === 'all' ? generated.users : Math.min(scoreUsers, generated.users);
    await step(
      usersScored === generated.users ? 'score top 10 (all users)' : 'score top 10 (sample)',
      async () => {
        const context = await openScoringContext(dbPath);
        const outPath = join(temp, 'top10.csv');
        const out = createWriteStream(outPath);
        try {
          const spacing = generated.users / usersScored;
          const userIds = Array.from({ length: usersScored }, (_, n) => 1 + Math.floor(n * spacing));
          const summary = await writeTopN({ snapshot: context.snapshot, catalog: context.catalog, userIds, top: 10, out });
          out.end();
          await finished(out);
          return summary;
        } finally {
          await context.close();
        }
      },
      (s) => ({ users: s.users, rows: s.rows }),
    );

    const implicitSecondsPerEpoch = steadyMean(implicitEpochs);
    const userSecondsPerEpoch = steadyMean(userEpochs);
    const itemSecondsPerEpoch = steadyMean(itemEpochs);
    const training = steps.find((s) => s.step === 'train');
    return {
      name,
      description,
      ratings: imported.ratings,
      users: imported.users,
      items: imported.items,
      levels: imported.ratingLevels.length,
      hidden: DEFAULT_TRAIN_OPTIONS.user.hidden,
      batchSize: DEFAULT_TRAIN_OPTIONS.user.batchSize,
      negativePhase: DEFAULT_TRAIN_OPTIONS.user.negativePhase,
      // The default model trains both orientations side by side: wall time of an epoch pair is the slower.
      secondsPerEpoch: userSecondsPerEpoch + itemSecondsPerEpoch,
      userSecondsPerEpoch,
      itemSecondsPerEpoch,
      cpuSecondsPerEpoch: training ? training.cpuSeconds / Math.max(1, epochs) : NaN,
      peakRssMB: Math.max(...steps.map((s) => s.peakRssMB)),
      trainingPeakRssMB: training?.peakRssMB ?? NaN,
      dataSeconds: steps
        .filter((s) => s.step === 'generate folder' || s.step === 'import' || s.step === 'load dataset')
        .reduce((sum, s) => sum + s.seconds, 0),
      compressSeconds: 0,
      pipeline: { steps, peakRssPerStep: peaksPerStep, usersScored, implicitSecondsPerEpoch },
    };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
