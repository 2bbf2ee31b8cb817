/**
 * The whole-path bench case on a tiny shape (the 25M one is opt-in and never runs in the test suite):
 * every step runs and reports, the import and scoring see the generated catalog, and the temporary
 * folder is gone afterwards.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/bench/pipeline.js';
import type { StageEvent } from '../../src/bench/types.js';

describe('runPipeline', () => {
  it('generates, imports, loads, trains, saves, reloads and scores, reporting each step', async () => {
    const leftovers = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('rbm-bench-pipeline-'));
    const before = leftovers();
    const stages: StageEvent[] = [];
    const result = await runPipeline('tiny', 'tiny whole path', { users: 120, items: 80, ratings: 6_000, halfStars: true }, 2, (e) =>
      stages.push(e),
    );
    const steps = result.pipeline?.steps ?? [];
    expect(steps.map((s) => s.step)).toEqual([
      'generate folder',
      'import',
      'load dataset',
      'train',
      'save model',
      'load model',
      'score top 10 (sample)',
    ]);
    for (const s of steps) {
      expect(s.seconds).toBeGreaterThanOrEqual(0);
      expect(s.peakRssMB).toBeGreaterThan(0);
    }
    expect(result).toMatchObject({ ratings: 6_000, users: 120, items: 80, levels: 10 });
    expect(steps.find((s) => s.step === 'score top 10 (sample)')?.detail).toEqual({ users: 120, rows: 1_200 });
    // Both orientations' epochs were reported as they ran.
    expect(
      stages
        .filter((e) => /^(user|item) epoch \d$/.test(e.stage))
        .map((e) => e.stage)
        .sort(),
    ).toEqual(['item epoch 1', 'item epoch 2', 'user epoch 1', 'user epoch 2']);
    expect(result.userSecondsPerEpoch).toBeGreaterThan(0);
    expect(leftovers()).toEqual(before);
  }, 120_000);
});
