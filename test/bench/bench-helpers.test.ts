import { describe, expect, it } from 'vitest';
import { BenchUsageError, parseBenchArgs } from '../../src/bench/args.js';
import { CASE_NAMES } from '../../src/bench/cases.js';
import { parseBusySeconds } from '../../src/bench/contention.js';
import { interleavedRuns, median, mergeRuns, steadyMean } from '../../src/bench/measure.js';
import { buildReport, checkTargets, formatSeconds, formatTable, targetsTable, threadsTable } from '../../src/bench/report.js';
import { parseStatusKb } from '../../src/bench/rss.js';
import type { CaseOutcome, CaseResult, ImplicitEpochResult, OrientationResult } from '../../src/bench/types.js';

const STATUS = `Name:\tnode
VmPeak:\t 1234567 kB
VmHWM:\t  204800 kB
VmRSS:\t  102400 kB
Threads:\t11
`;

describe('parseStatusKb', () => {
  it('reads kB fields of /proc/self/status', () => {
    expect(parseStatusKb(STATUS, 'VmHWM')).toBe(204800);
    expect(parseStatusKb(STATUS, 'VmRSS')).toBe(102400);
  });
  it('returns null for a missing field or a field without kB', () => {
    expect(parseStatusKb(STATUS, 'VmSwap')).toBeNull();
    expect(parseStatusKb(STATUS, 'Threads')).toBeNull();
  });
});

describe('parseBenchArgs', () => {
  it('defaults to every case but the opt-in whole-path one, which --cases accepts', () => {
    expect(parseBenchArgs([])).toMatchObject({
      help: false,
      json: null,
      cases: CASE_NAMES.filter((c) => c !== 'synthetic-25m'),
      epochs: null,
    });
    expect(parseBenchArgs(['--cases', 'synthetic-25m']).cases).toEqual(['synthetic-25m']);
  });
  it('reads --json, --cases, --epochs in both spellings', () => {
    const args = parseBenchArgs(['--json', 'out.json', '--cases=ml100k,synthetic-1m', '--epochs', '3', '--timeout=60']);
    expect(args).toMatchObject({ json: 'out.json', cases: ['ml100k', 'synthetic-1m'], epochs: 3, timeoutSeconds: 60 });
  });
  it('rejects unknown cases, bad numbers and missing values', () => {
    expect(() => parseBenchArgs(['--cases', 'nope'])).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(['--epochs', '0'])).toThrow(/positive integer/);
    expect(() => parseBenchArgs(['--epochs', '1.5'])).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(['--json'])).toThrow(/needs a value/);
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/unknown argument/);
  });
  it('reads --score-users as a count or "all", and refuses anything else', () => {
    expect(parseBenchArgs([]).scoreUsers).toBeNull();
    expect(parseBenchArgs(['--score-users', '500']).scoreUsers).toBe(500);
    expect(parseBenchArgs(['--score-users=all']).scoreUsers).toBe('all');
    expect(() => parseBenchArgs(['--score-users', 'some'])).toThrow(/--score-users must be a positive integer/);
  });
  it('times 1 and 2 threads by default; --threads lists counts, each a positive integer, once', () => {
    expect(parseBenchArgs([]).threads).toEqual([1, 2]);
    expect(parseBenchArgs(['--threads', '2,4']).threads).toEqual([2, 4]);
    expect(() => parseBenchArgs(['--threads', '1,0'])).toThrow(/--threads must be a positive integer, got "0"/);
    expect(() => parseBenchArgs(['--threads=2,2'])).toThrow(/twice/);
  });
});

describe('steadyMean', () => {
  it('drops the warm-up epoch when there are several', () => {
    expect(steadyMean([5, 1, 3])).toBe(2);
    expect(steadyMean([4])).toBe(4);
    expect(steadyMean([])).toBeNaN();
  });
});

describe("other processes' load", () => {
  it("is the busy time of /proc/stat's cpu line (user, nice, system, irq, softirq, steal) in seconds", () => {
    const stat = 'cpu  100 20 30 5000 7 1 2 3 0 0\ncpu0 50 10 15 2500 3 1 1 2 0 0\nintr 1\n';
    expect(parseBusySeconds(stat)).toBeCloseTo(1.56, 12);
    expect(parseBusySeconds('intr 1\n')).toBeNull();
  });
});

describe('several thread counts', () => {
  it('take turns, every other round reversed', () => {
    expect(interleavedRuns(2, 3)).toEqual([0, 1, 1, 0, 0, 1]);
    expect(interleavedRuns(3, 2)).toEqual([0, 1, 2, 2, 1, 0]);
    expect(interleavedRuns(1, 1)).toEqual([0]);
  });

  it("give the median of the runs' epochs after each run's first, every epoch kept in order", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const run = (wall: number[], cpu: number[]) => ({
      epochSeconds: wall,
      secondsPerEpoch: NaN,
      epochCpuSeconds: cpu,
      cpuSecondsPerEpoch: NaN,
    });
    // The first epoch of each run (9, 8, 7: warm-up) is left out; one slow epoch (5) does not move the median.
    const merged = mergeRuns([run([9, 1, 1.2], [9, 2, 2]), run([8, 5, 1.1], [9, 2.2, 2.4]), run([7, 1.3, 0.9], [9, 2.1, 1.9])]);
    expect(merged.epochSeconds).toEqual([9, 1, 1.2, 8, 5, 1.1, 7, 1.3, 0.9]);
    expect(merged.secondsPerEpoch).toBeCloseTo(1.15, 12);
    expect(merged.cpuSecondsPerEpoch).toBeCloseTo(2.05, 12);
    // A single run stays as it was measured (the mean after its first epoch, computed by its caller).
    const single = { ...run([3, 2], [3, 2]), secondsPerEpoch: 2, cpuSecondsPerEpoch: 2 };
    expect(mergeRuns([single])).toBe(single);
  });
});

describe('formatting', () => {
  it('right-aligns numbers and pads text', () => {
    const table = formatTable(
      ['case', 's'],
      [
        ['a', '1.5'],
        ['longer', '12.25'],
      ],
    );
    expect(table.split('\n')).toEqual(['case        s', '------  -----', 'a         1.5', 'longer  12.25']);
  });
  it('formats seconds with sensible precision', () => {
    expect(formatSeconds(0.01234)).toBe('0.0123');
    expect(formatSeconds(0.1234)).toBe('0.123');
    expect(formatSeconds(12.345)).toBe('12.3');
    expect(formatSeconds(null)).toBe('—');
  });
});

function orientation(seconds: number): OrientationResult {
  return {
    rows: 1,
    cols: 1,
    cdSteps: 1,
    epochSeconds: [seconds],
    secondsPerEpoch: seconds,
    epochCpuSeconds: [seconds],
    cpuSecondsPerEpoch: seconds,
    setupSeconds: 0,
    paramsMB: 1,
    workspaceMB: 2,
    peakRssAfterMB: 100,
  };
}

/** The implicit result with a pseudo-likelihood member timed beside its CD one. */
function withPl(result: ImplicitEpochResult, seconds: number, cpuSeconds: number): ImplicitEpochResult {
  return {
    ...result,
    pseudoLikelihood: {
      epochSeconds: [seconds, seconds],
      secondsPerEpoch: seconds,
      epochCpuSeconds: [cpuSeconds, cpuSeconds],
      cpuSecondsPerEpoch: cpuSeconds,
    },
  };
}

function implicit(threads: number, seconds: number, cpuSeconds: number): ImplicitEpochResult {
  return {
    users: 1,
    items: 1,
    hidden: 160,
    batchSize: 100,
    negativePhase: 'dense',
    threads,
    epochSeconds: [seconds, seconds],
    secondsPerEpoch: seconds,
    epochCpuSeconds: [cpuSeconds, cpuSeconds],
    cpuSecondsPerEpoch: cpuSeconds,
    peakRssAfterMB: 100,
  };
}

function outcome(name: string, secondsPerEpoch: number, peakRssMB: number, scoringSeconds?: number): CaseOutcome {
  const result: CaseResult = {
    name,
    description: name,
    ratings: 1,
    users: 1,
    items: 1,
    levels: 5,
    hidden: 100,
    batchSize: 20,
    negativePhase: 'meanField',
    secondsPerEpoch,
    userSecondsPerEpoch: secondsPerEpoch / 2,
    itemSecondsPerEpoch: secondsPerEpoch / 2,
    cpuSecondsPerEpoch: secondsPerEpoch,
    peakRssMB,
    trainingPeakRssMB: peakRssMB,
    dataSeconds: 0,
    compressSeconds: 0,
    orientations: { user: orientation(secondsPerEpoch / 2), item: orientation(secondsPerEpoch / 2) },
    ...(scoringSeconds === undefined
      ? {}
      : {
          scoring: {
            backend: 'wasm',
            users: 1,
            items: 1,
            seconds: scoringSeconds,
            warmSeconds: scoringSeconds,
            backendInitSeconds: 0,
            fittedMixture: { user: 0.5, item: 0.5, bias: 0 },
            modelFitSeconds: 0,
            modelEpochs: 2,
            blockSize: 256,
            leakedTensors: 0,
          },
        }),
  };
  return { name, result, error: null, stages: [], wallSeconds: 1 };
}

describe('checkTargets', () => {
  it('passes and fails each target against its limit', () => {
    const checks = checkTargets([
      outcome('ml100k', 0.25, 200, 3),
      outcome('synthetic-1m', 8, 1100),
      outcome('synthetic-1m-items4x', 13, 900),
    ]);
    const status = Object.fromEntries(checks.map((c) => [c.target, c.status]));
    expect(status).toEqual({
      'ml100k epoch (user + item)': 'PASS',
      'synthetic-1m epoch': 'PASS',
      'synthetic-1m peak RSS': 'FAIL',
      'synthetic-10m epoch': 'n/a',
      'synthetic-10m peak RSS': 'n/a',
      'items4x epoch / synthetic-1m epoch': 'FAIL',
      'ml100k all pairs scored': 'FAIL',
      'synthetic-1m user RBM epoch, 1 → 2 threads': 'n/a',
      'synthetic-1m item RBM epoch, 1 → 2 threads': 'n/a',
      'synthetic-1m implicit RBM epoch, 1 → 2 threads': 'n/a',
      'synthetic-1m implicit-pl RBM epoch, 1 → 2 threads': 'n/a',
    });
    expect(checks.find((c) => c.target.startsWith('items4x'))?.measured).toBeCloseTo(13 / 8);
  });
  it('reads the 1 → 2 thread speedup of each model as a target to reach (≥), and tabulates every count', () => {
    const timed = outcome('synthetic-1m', 8, 500);
    timed.result!.byThreads = [
      { threads: 1, user: orientation(4), item: orientation(5), implicit: withPl(implicit(1, 1.8, 1.75), 3, 2.9) },
      {
        threads: 2,
        user: { ...orientation(2), otherCores: 0.05 },
        item: { ...orientation(3.2), otherCores: 0.85 },
        implicit: withPl(implicit(2, 1, 1.9), 1.6, 3.1),
      },
    ];
    const checks = checkTargets([timed]).filter((c) => c.target.includes('threads'));
    expect(checks.map((c) => [c.target, c.measured, c.status])).toEqual([
      ['synthetic-1m user RBM epoch, 1 → 2 threads', 2, 'PASS'],
      ['synthetic-1m item RBM epoch, 1 → 2 threads', 5 / 3.2, 'FAIL'],
      ['synthetic-1m implicit RBM epoch, 1 → 2 threads', 1.8, 'PASS'],
      ['synthetic-1m implicit-pl RBM epoch, 1 → 2 threads', 3 / 1.6, 'PASS'],
    ]);
    expect(targetsTable(checks)).toContain('≥ 1.70×');
    const table = threadsTable([timed]) ?? '';
    expect(table.split('\n')[3]).toMatch(
      /^synthetic-1m\s+2\s+2\.00\s+2\.00×\s+2\.00\s+3\.20\s+1\.56×\s+3\.20\s+1\.00\s+1\.80×\s+1\.90\s+1\.60\s+1\.88×\s+3\.10\s+0\.85$/,
    );
    expect(threadsTable([outcome('ml100k', 1, 100)])).toBeNull();
    // A case that does not time the implicit RBM shows dashes in its columns, and has no implicit speedup.
    delete timed.result!.byThreads[1].implicit;
    expect(threadsTable([timed])?.split('\n')[3]).toMatch(/1\.56×\s+3\.20\s+—\s+—\s+—\s+—\s+—\s+—\s+0\.85$/);
    // Rows without the other processes' load show a dash.
    expect(threadsTable([timed])?.split('\n')[2]).toMatch(/\s—$/);
    expect(checkTargets([timed]).find((c) => c.target.startsWith('synthetic-1m implicit'))?.status).toBe('n/a');
  });
  it('says why a target has no figure', () => {
    const failed: CaseOutcome = { name: 'synthetic-10m', result: null, error: 'stopped by --timeout', stages: [], wallSeconds: 600 };
    const check = checkTargets([failed]).find((c) => c.target === 'synthetic-10m epoch');
    expect(check).toMatchObject({ status: 'n/a', measured: null });
    expect(check?.note).toContain('stopped by --timeout');
  });
  it('builds the JSON report with cases, scoring and backend', () => {
    const report = buildReport([outcome('ml100k', 0.2, 150, 1.5)], null, { cpus: 2 });
    expect(report.cases.map((c) => c.name)).toEqual(['ml100k']);
    expect(report.scoring.ml100kAllPairsSeconds).toBe(1.5);
    expect(report.backend).toBe('wasm');
  });
});
