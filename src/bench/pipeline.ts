/**
 * The whole path at MovieLens 25M's size, as a user would run it, step by step in one process:
 * generate a synthetic latest-layout folder into a temporary directory, import it into a fresh SQLite
 * file (the streamed bulk import), load the training Dataset from SQLite, train the default model for a
 * few epochs, save it as a model version (chunked tensors), load it back into a servable model, and
 * score the top 10 of a sample of users through the batch scorer. Each step reports its wall and CPU
 * seconds and its own peak RSS: the kernel's high-water mark is reset before each step (Linux
 * /proc/self/clear_refs, "5"), so a step's peak is not an earlier step's.
 */
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { forEachCatalogRating, readMovieLensCatalog } from '../data/movielens.js';
import { ML25M_SHAPE, writeSyntheticMovieLensFolder } from '../data/syntheticFolder.js';
import { modelFromState, trainModel, type EpochReport, type ModelMeta } from '../model/index.js';
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

/** Users whose top 10 the scoring step writes, evenly spread over the ids. */
const SCORED_USERS = 2000;
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
    try {
      const dataset = await step('load dataset', () => new CatalogStore(db).loadDataset());
      const curve: EpochReport[] = [];
      await initBackend();
      const trained = await step(
        'train',
        // The rating blend: the part whose epochs, weights and scoring grow with the catalog.
        () =>
          trainModel(
            'blend',
            dataset,
            { epochs },
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
        () => ({ epochs }),
      );
      userEpochs = curve.filter((r) => r.phase === 'user').map((r) => r.seconds);
      itemEpochs = curve.filter((r) => r.phase === 'item').map((r) => r.seconds);
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

    const usersScored = Math.min(SCORED_USERS, generated.users);
    await step(
      'score top 10 (sample)',
      async () => {
        const context = openScoringContext(dbPath);
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
          context.close();
        }
      },
      (s) => ({ users: s.users, rows: s.rows }),
    );

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
      pipeline: { steps, peakRssPerStep: peaksPerStep, usersScored },
    };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
