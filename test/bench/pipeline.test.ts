/**
 * The whole-path bench case on a tiny shape (the 25M one is opt-in and never runs in the test suite):
 * every step runs and reports, the import and scoring see the generated catalog, the real server answers
 * the serving step's load, and the temporary folder is gone afterwards.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/bench/pipeline.js';
import type { StageEvent } from '../../src/bench/types.js';
import { DEFAULT_IMPLICIT_OPTIONS } from '../../src/rbm/implicit.js';

describe('runPipeline', () => {
  it('generates, imports, loads, trains, saves, reloads and scores, reporting each step', async () => {
    const leftovers = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('rbm-bench-pipeline-'));
    const before = leftovers();
    const stages: StageEvent[] = [];
    const result = await runPipeline(
      'tiny',
      'tiny whole path',
      { users: 120, items: 80, ratings: 6_000, halfStars: true },
      2,
      (e) => stages.push(e),
      { serveLoads: [{ label: 'quick', connections: 2, rate: 20, seconds: 1 }] },
    );
    const steps = result.pipeline?.steps ?? [];
    expect(steps.map((s) => s.step)).toEqual([
      'generate folder',
      'import',
      'load dataset',
      'train',
      'save model',
      'load model',
      'serve recommendations',
      'score top 10 (all users)',
    ]);
    for (const s of steps) {
      expect(s.seconds).toBeGreaterThanOrEqual(0);
      expect(s.peakRssMB).toBeGreaterThan(0);
    }
    expect(result).toMatchObject({ ratings: 6_000, users: 120, items: 80, levels: 10 });
    expect(steps.find((s) => s.step === 'score top 10 (all users)')?.detail).toEqual({ users: 120, rows: 1_200 });
    // The real server answered every request of the load, for stored users, and reported its latency and memory.
    const served = steps.find((s) => s.step === 'serve recommendations')?.detail as {
      startSeconds: number;
      loads: Record<string, { requests: number; ok: number; errors: number; p99Ms: number }>;
      serverPeakRssMB: number;
    };
    expect(served.loads.quick).toMatchObject({ requests: 20, ok: 20, errors: 0 });
    expect(served.loads.quick.p99Ms).toBeGreaterThan(0);
    expect(served.serverPeakRssMB).toBeGreaterThan(0);
    expect(served.startSeconds).toBeGreaterThan(0);
    // Both orientations' epochs were reported as they ran.
    expect(
      stages
        .filter((e) => /^(user|item) epoch \d$/.test(e.stage))
        .map((e) => e.stage)
        .sort(),
    ).toEqual(['item epoch 1', 'item epoch 2', 'user epoch 1', 'user epoch 2']);
    // The served default trains the implicit RBM too, each of its members capped at the same epochs.
    expect(stages.filter((e) => /^implicit epoch \d$/.test(e.stage)).length).toBeGreaterThan(0);
    expect(stages.filter((e) => /^implicit epoch \d$/.test(e.stage)).length).toBeLessThanOrEqual(2 * DEFAULT_IMPLICIT_OPTIONS.members);
    // Its pseudo-likelihood member (a dense catalog) reports under its own phase.
    expect(stages.filter((e) => /^implicit-pl epoch \d$/.test(e.stage)).length).toBe(2 * DEFAULT_IMPLICIT_OPTIONS.plMembers);
    expect(result.userSecondsPerEpoch).toBeGreaterThan(0);
    expect(leftovers()).toEqual(before);
  }, 120_000);
});
