/**
 * The 8-bit bound of p(watch) (rbm/watchBounds.ts, wasm/boundKernels.as.ts): every item's bound is at or
 * above the float32 p(watch) the evaluated items get (σ of ImplicitRbm.logitsOfItems), for hidden sizes
 * that are and are not multiples of 16, an ensemble's width, weights from tiny to large, all-zero rows,
 * and the largest integer sums the planned range allows; the bound stays close (a loose bound would
 * send the pruned top-k through most of the catalog); parameters that are not finite give no bound; and
 * the committed binary is what the source compiles to.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOUND_WASM_OUTPUT, buildWasmModule, WASM_MODULES } from '../../scripts/build-wasm.js';
import { initBackend } from '../../src/rbm/backend.js';
import { DEFAULT_IMPLICIT_OPTIONS, ImplicitRbm, watchOfLogit } from '../../src/rbm/implicit.js';
import type { ImplicitParams } from '../../src/rbm/implicitParams.js';
import { QuantizedWatchBounds } from '../../src/rbm/watchBounds.js';
import { Rng } from '../../src/rng.js';

beforeAll(async () => {
  await initBackend();
});

function rbmOf(items: number, hidden: number, rng: Rng, wScale: number, extra: Partial<ImplicitParams> = {}): ImplicitRbm {
  const fill = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * scale);
  const params: ImplicitParams = { items, hidden, W: fill(items * hidden, wScale), b: fill(items, 6), c: fill(hidden, 1), ...extra };
  return new ImplicitRbm(params, DEFAULT_IMPLICIT_OPTIONS);
}

/** The bound of every item against fround(σ(z)) of the logits the pruned top-k evaluates; the mean gap. */
function check(rbm: ImplicitRbm, hiddenRow: Float32Array): number {
  const I = rbm.params.items;
  const kernel = rbm.watchBounds();
  expect(kernel).not.toBeNull();
  const bounds = kernel!.withBounds(hiddenRow, (b) => b.slice());
  const every = Int32Array.from({ length: I }, (_, i) => i);
  const z = rbm.logitsOfItems(hiddenRow, every);
  let gap = 0;
  for (let i = 0; i < I; i++) {
    const watch = Math.fround(watchOfLogit(z[i]));
    if (!(bounds![i] >= watch)) throw new Error(`item ${i}: bound ${bounds![i]} below p(watch) ${watch} (logit ${z[i]})`);
    gap += bounds![i] - watch;
  }
  return gap / I;
}

describe('the 8-bit bound of p(watch)', () => {
  for (const [F, wScale, extra] of [
    [1, 0.6, {}],
    [16, 0.6, {}],
    [37, 0.6, {}],
    [160, 0.3, { hiddenUnits: 'gaussian' as const }],
    [640, 0.1, { visibleScale: 1 / 4, hiddenUnits: 'gaussian' as const }],
    [24, 1e-4, {}],
    [24, 20, {}],
  ] as const) {
    it(`is above every item's p(watch) and close to it (F = ${F}, weights ±${wScale / 2}, ${JSON.stringify(extra)})`, () => {
      const rng = new Rng(F + 7);
      const I = 301; // not a multiple of the kernel's four items
      const rbm = rbmOf(I, F, rng, wScale, extra);
      const users = Array.from({ length: 6 }, (_, n) => Array.from({ length: 1 + 17 * n }, () => rng.int(I)));
      const { hidden } = rbm.watchHidden(users);
      let worst = 0;
      for (const h of hidden) worst = Math.max(worst, check(rbm, h));
      // Zero hidden input: the bound is σ's table bound of b alone.
      worst = Math.max(worst, check(rbm, new Float32Array(F)));
      // Uniform random weights are the quantisation's worst case (a trained model's slack is far smaller:
      // docs/performance.md); a mistake in the slack's terms shows as a gap of tenths.
      expect(worst).toBeLessThan(0.02);
      rbm.dispose();
    });
  }

  it('holds at the largest integer sums (every weight and unit at its extreme, signs aligned), and for all-zero rows', () => {
    for (const F of [160, 640, 1000]) {
      const I = 9;
      const W = new Float32Array(I * F);
      for (let i = 0; i < I; i++) for (let j = 0; j < F; j++) W[i * F + j] = i === 4 ? 0 : (j % 2 === 0 ? 1 : -1) * (i + 1) * 0.37;
      const rbm = new ImplicitRbm(
        { items: I, hidden: F, W, b: new Float32Array(I).fill(-3), c: new Float32Array(F) },
        DEFAULT_IMPLICIT_OPTIONS,
      );
      const h = Float32Array.from({ length: F }, (_, j) => (j % 2 === 0 ? 1 : -1) * 0.01);
      check(rbm, h);
      check(
        rbm,
        Float32Array.from(h, (x) => -x),
      );
    }
  });

  it('gives no bound for parameters that are not finite, and refuses a malformed or non-finite hidden row', () => {
    const rng = new Rng(3);
    const rbm = rbmOf(20, 8, rng, 0.5);
    rbm.params.W[13] = Number.NaN;
    expect(rbm.watchBounds()).toBeNull();
    const rbmC = rbmOf(20, 8, rng, 0.5);
    rbmC.params.c[2] = Number.POSITIVE_INFINITY;
    expect(rbmC.watchBounds()).toBeNull();
    const good = QuantizedWatchBounds.of(new Float32Array(20 * 8), new Float32Array(20), 20, 8)!;
    const keep = (b: Float32Array): Float32Array => b.slice();
    expect(() => good.withBounds(new Float32Array(7), keep)).toThrow(/hidden row of 7 values, expected 8/);
    expect(() => good.withBounds(new Float32Array(8).fill(Number.NaN), keep)).toThrow(/hidden unit 0 is NaN/);
    // The output is lent for the call: a bound asked for inside it is refused, and the lender is free after.
    expect(() => good.withBounds(new Float32Array(8), () => good.withBounds(new Float32Array(8), keep))).toThrow(/still in use/);
    expect(good.withBounds(new Float32Array(8), keep)).toHaveLength(20);
    expect(() => QuantizedWatchBounds.of(new Float32Array(10), new Float32Array(20), 20, 8)).toThrow(/expected 20 × 8/);
  });

  it('is what boundKernels.as.ts compiles to (a rebuild gives identical bytes), and imports only its memory', async () => {
    const committed = new Uint8Array(await readFile(BOUND_WASM_OUTPUT));
    const fresh = await buildWasmModule(WASM_MODULES.find((m) => m.output === BOUND_WASM_OUTPUT)!);
    expect(Buffer.compare(Buffer.from(fresh), Buffer.from(committed)), 'run npm run build:wasm').toBe(0);
    const module = new WebAssembly.Module(committed);
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
  });
});
