/**
 * The initial weights drawn on the CD engine's threads (initWeightsNormal): each thread draws a part of W
 * from the stream jumped ahead to it (xoshiroJump), and the result must be initParams' serial draws bit for
 * bit, the stream afterwards (its cached second variate included) too, at any thread count and whatever
 * the stream held, including the 2^-32 case of a zero uniform that is drawn again (which shifts every
 * later part).
 */
import { describe, expect, it } from 'vitest';
import type { CompressedRows } from '../../src/data/dataset.js';
import { JsCdEngine, WasmCdEngine, wasmKernelsAvailable } from '../../src/rbm/cdEngine.js';
import { initParams } from '../../src/rbm/params.js';
import { Rng, xoshiroJump } from '../../src/rng.js';

/** Three cases over `cols` visible units (the weights are what is tested, not training). */
function tinyRows(cols: number): CompressedRows {
  return {
    rows: 3,
    cols,
    rowStart: Int32Array.from([0, 2, 3, 5]),
    colIndex: Int32Array.from([0, cols - 1, 1, 0, 2]),
    levels: Uint8Array.from([0, 2, 1, 1, 0]),
  };
}

const LEVELS = [1, 2, 3];
const options = { lr: 0.05, momentum: 0.5, weightDecay: 0.01, batchSize: 2, persistent: false, meanField: true };

/** The serial reference: initParams' W and what the stream gives next. */
function serial(rng: Rng, cols: number, hidden: number, scale: number): { W: Float32Array; next: number[] } {
  const p = initParams(cols, LEVELS.length, hidden, new Float64Array(cols * LEVELS.length), rng, scale);
  return { W: p.W, next: [rng.normal(), rng.normal(), rng.nextUint32()] };
}

function viaEngine(rng: Rng, cols: number, hidden: number, scale: number, threads: number): { W: Float32Array; next: number[] } {
  const p = initParams(cols, LEVELS.length, hidden, new Float64Array(cols * LEVELS.length), null, 0);
  const engine =
    threads === 0
      ? new JsCdEngine(p, tinyRows(cols), LEVELS, options)
      : new WasmCdEngine(p, tinyRows(cols), LEVELS, { ...options, threads });
  try {
    engine.initWeightsNormal(rng, scale);
    return { W: engine.params.W.slice(), next: [rng.normal(), rng.normal(), rng.nextUint32()] };
  } finally {
    engine.close();
  }
}

function expectSame(a: { W: Float32Array; next: number[] }, b: { W: Float32Array; next: number[] }): void {
  expect(b.W.length).toBe(a.W.length);
  let differing = 0;
  for (let n = 0; n < a.W.length; n++) if (!Object.is(a.W[n], b.W[n])) differing++;
  expect(differing).toBe(0);
  expect(b.next).toEqual(a.next);
}

describe('xoshiroJump', () => {
  it('gives the state after n draws, and goes back with a negative n', () => {
    const start = new Rng(9).getState();
    for (const n of [0, 1, 2, 3, 64, 1000, 4097]) {
      const stepped = new Rng(9);
      for (let d = 0; d < n; d++) stepped.nextUint32();
      expect(xoshiroJump(start, BigInt(n))).toEqual(stepped.getState());
      expect(xoshiroJump(xoshiroJump(start, BigInt(n)), BigInt(-n))).toEqual(start);
    }
  });
});

describe('Rng.fillNormal', () => {
  it('equals a loop of normal() calls, the cached variate in and out included', () => {
    for (const length of [0, 1, 2, 7, 1000, 1001]) {
      for (const cached of [false, true]) {
        const a = new Rng(3);
        const b = new Rng(3);
        if (cached) {
          a.normal();
          b.normal();
        }
        const loop = new Float32Array(length);
        for (let n = 0; n < length; n++) loop[n] = a.normal() * 0.3;
        const filled = new Float32Array(length);
        b.fillNormal(filled, 0.3);
        expect(Array.from(filled)).toEqual(Array.from(loop));
        expect([b.normal(), b.normal(), b.nextUint32()]).toEqual([a.normal(), a.normal(), a.nextUint32()]);
      }
    }
  });
});

describe.skipIf(!wasmKernelsAvailable().ok)('initWeightsNormal on the engine threads', () => {
  it('draws initParams weights and leaves the same stream, at 1, 2 and 3 threads and in the JS engine', () => {
    // 41 × 3 × 7 = 861 weights (odd: the last pair's second variate is cached), and an even count.
    for (const [cols, hidden] of [
      [41, 7],
      [40, 8],
    ]) {
      for (const cached of [false, true]) {
        const fresh = (): Rng => {
          const rng = new Rng(17);
          if (cached) rng.normal();
          return rng;
        };
        const reference = serial(fresh(), cols, hidden, 0.25);
        for (const threads of [0, 1, 2, 3]) expectSame(reference, viaEngine(fresh(), cols, hidden, 0.25, threads));
      }
    }
  });

  it('draws a zero uniform again and then every later part from the shifted stream', () => {
    const cols = 40;
    const hidden = 8;
    const pairs = (cols * LEVELS.length * hidden) / 2; // 480
    // A state whose next draw is 0 (xoshiro128**'s output is 0 exactly when s1 is 0), reached after
    // 2m draws: pair m's u is 0. m in the lead's part (of 2 and of 3), then in the first helper's.
    for (const [m, threadCounts, part] of [
      [10, [2, 3], 0],
      [200, [3], 1],
    ] as const) {
      const start = xoshiroJump([0x12345678, 0, 0x9abcdef0, 0x0fedcba9], BigInt(-2 * m));
      const fresh = (): Rng => {
        const rng = new Rng(0);
        rng.setState(start);
        return rng;
      };
      const probe = fresh();
      for (let d = 0; d < 2 * m; d++) probe.nextUint32();
      expect(probe.nextUint32()).toBe(0);
      // Which thread's part pair m falls in (parts of ⌊pairs/T⌋ pairs each).
      for (const threads of threadCounts) expect(Math.floor((m * threads) / pairs)).toBe(part);
      const reference = serial(fresh(), cols, hidden, 0.25);
      for (const threads of threadCounts) expectSame(reference, viaEngine(fresh(), cols, hidden, 0.25, threads));
    }
  });
});
