/**
 * Training the implicit-feedback RBM (implicitParams.ts) with CD-T, momentum, weight decay and
 * mini-batches, and early stopping on a validation slice by nDCG@k of held-out training ratings. Pure:
 * progress goes through a callback.
 *
 * Three engines compute the same statistics (accumulateCd's equations); which is fastest at equal quality
 * is measured, not assumed:
 *   'tfjs'    the positive phase sparse in typed arrays, the negative phase as dense tfjs products:
 *             Vᵀ = σ(W Hᵀ + b), Qᵀ = σ(Wᵀ Vᵀ + c), ∂W −= Vᵀ Q (explicit layouts: wasm's transposed matMul
 *             is slow; see tfjsEngine), bit-identical parameters to the previous tfjs layouts
 *   'js'      the same per case in typed-array loops (the reference)
 *   'sampled' typed-array loops with the negative phase over the rated items and `zeroSamples` sampled
 *             unrated ones (accumulateCdSampled), drawn uniformly per case
 *   'shared'  the default: SIMD kernels over shared memory on `threads` threads (implicitShared.ts), the
 *             negative phase dense or importance-sampled from a popularity proposal per mini-batch; CD-1
 *             (at T > 1 it runs the tfjs engine)
 */
import type { CompressedRows } from '../data/dataset.js';
import { DEFAULT_CHECKPOINT_EVERY_MS, type EpochReport, type RbmCheckpoint } from './train.js';
import type { RbmParams } from './params.js';
import { Rng } from '../rng.js';
import { readFloat32, tf } from './backend.js';
import { transposeMatrix } from './params.js';
import { topK } from './topK.js';
import { SharedEngine } from './implicitShared.js';
import {
  accumulateCd,
  accumulateCdSampled,
  accumulatePl,
  applyUpdate,
  applyUpdateNegated,
  cdScratch,
  cloneImplicitParams,
  implicitHidden,
  zeroGradient,
  type ImplicitParams,
} from './implicitParams.js';

export type ImplicitEngine = 'shared' | 'tfjs' | 'js' | 'sampled';
/**
 * How the gradient is estimated: CD-1 (contrastive divergence), or the pseudo-likelihood Σ_i log p(v_i | v_−i)
 * (accumulatePl: Gaussian hidden units, every item's conditional exact; the 'js' engine and the 'shared'
 * one with a dense negative phase).
 */
export type ImplicitEstimator = 'cd' | 'pl';
export const IMPLICIT_ESTIMATORS: readonly ImplicitEstimator[] = ['cd', 'pl'];
export type NegativePhase = 'auto' | 'dense' | 'sampled';

export interface ImplicitTrainOptions {
  /** F, binary hidden units. */
  hidden: number;
  /** Maximum epochs (early stopping usually ends sooner). */
  epochs: number;
  /** ε, applied to the batch-averaged gradient. */
  lr: number;
  /**
   * Anneal ε by a half cosine over the epoch budget E: ε_e = ε · ½ (1 + cos(π (e − 1) / E)) in epoch e
   * (1-based), from ε down towards 0 (false: ε throughout).
   */
  lrCosine: boolean;
  /** μ from `momentumFromEpoch` on, `initialMomentum` before. */
  momentum: number;
  initialMomentum: number;
  momentumFromEpoch: number;
  /** λ, L2 weight decay on W. */
  weightDecay: number;
  /** Users per mini-batch. */
  batchSize: number;
  /** T of CD-T. */
  cdSteps: number;
  /** The gradient's estimator (default 'cd'). */
  estimator?: ImplicitEstimator;
  /** Stop after this many epochs without a better validation nDCG. */
  patience: number;
  /** Standard deviation of the initial weights. */
  initScale: number;
  engine: ImplicitEngine;
  /** Unrated items sampled per case by the 'sampled' engine. */
  zeroSamples: number;
  /**
   * The 'shared' engine's negative phase: over every item ('dense') or importance-sampled ('sampled',
   * implicitShared.ts); 'auto' picks by the catalog's size (negativePhaseFor).
   */
  negativePhase: NegativePhase;
  /** Draws from the proposal per mini-batch when the negative phase is sampled. */
  negativeSamples: number;
  /**
   * Threads sharing each mini-batch ('shared' engine). The trained parameters do not depend on it (the
   * work's split changes, not the arithmetic), so it is a speed setting, not a hyperparameter.
   */
  threads: number;
  /** k of the early-stopping nDCG@k. */
  rankCutoff: number;
  /**
   * Most users the early-stopping nDCG is computed over (evenly spaced by index when more have validation
   * items). Scoring a user ranks every item, so at MovieLens-25M size (162,541 users × 59,047 items) all of
   * them would cost more than a training epoch; 5,000 users estimate the mean to about ±0.004 (and the
   * epoch-to-epoch comparison, over the same users, more closely). Smaller catalogs use every user.
   */
  validationUsers: number;
}

/** A user's rated items as compressed rows (rows = users, colIndex = item indices, sorted, distinct). */
export type RatedRows = Pick<CompressedRows, 'rows' | 'cols' | 'rowStart' | 'colIndex'>;

export interface ImplicitTrainResult {
  params: ImplicitParams;
  curve: EpochReport[];
  bestEpoch: number;
  /** nDCG@k on the validation slice at the best epoch, or null without a validation slice. */
  bestNdcg: number | null;
  epochs: number;
  seconds: number;
}

/**
 * Checkpoints of a long implicit training (MovieLens-25M size: minutes an epoch), in the rating RBMs'
 * format (train.ts RbmCheckpoint, phase 'implicit') so the same files and `--resume` serve both: the
 * parameters as an RBM of one level (W items × F, b per item, c), and "bestValidationRmse" holding
 * 1 − nDCG, the lower-is-better form the implicit curve already reports.
 */
export interface ImplicitTrainHooks {
  /** After an epoch, once `checkpointEveryMs` has passed since the start or the last checkpoint: the best so far. */
  onCheckpoint?: (checkpoint: RbmCheckpoint) => void;
  /** Default 2 minutes, as the rating RBMs'. */
  checkpointEveryMs?: number;
  /** Milliseconds clock (default performance.now), injectable so tests need no real waiting. */
  now?: () => number;
  /**
   * Continue from a checkpoint: `params` passed to trainImplicitRbm must be its parameters
   * (implicitParamsOfCheckpoint); training goes on at epoch checkpoint.epoch + 1 with its curve and best so
   * far. The momentum buffer starts at zero: a continuation, not a bit-exact replay.
   */
  resumeFrom?: RbmCheckpoint;
  /** How often training yields to the event loop (default YIELD_EVERY_MS; 0: after every mini-batch). */
  yieldEveryMs?: number;
}

/**
 * The implicit RBM trains on the main thread while the rating RBMs train in workers (model/watchLike.ts),
 * and their epoch reports and checkpoints reach the main thread as messages. An epoch at MovieLens-25M size
 * takes minutes, so training yields to the event loop this often: the messages are handled (checkpoints
 * written) while it trains, not after. Yielding changes nothing in the arithmetic.
 */
const YIELD_EVERY_MS = 200;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The implicit parameters as a one-level RBM's (copies), for a checkpoint. */
export const checkpointParamsOf = (p: ImplicitParams): RbmParams => ({
  visibles: p.items,
  levels: 1,
  hidden: p.hidden,
  W: p.W.slice(),
  b: p.b.slice(),
  c: p.c.slice(),
});

/** A checkpoint's parameters back as the implicit RBM's, after checking it is one of this shape. */
export function implicitParamsOfCheckpoint(checkpoint: RbmCheckpoint, items: number, hidden: number): ImplicitParams {
  const p = checkpoint.params;
  if (checkpoint.phase !== 'implicit' || p.visibles !== items || p.levels !== 1 || p.hidden !== hidden) {
    throw new Error(
      `cannot resume the implicit RBM (${items} items × ${hidden} hidden) from a checkpoint of the ${checkpoint.phase} RBM ` +
        `(${p.visibles} × ${p.levels} levels × ${p.hidden}): the data or the options changed since it was saved`,
    );
  }
  return { items, hidden, W: p.W.slice(), b: p.b.slice(), c: p.c.slice() };
}

interface Engine {
  /** Trains one mini-batch; returns the summed squared reconstruction error. */
  batch(cases: Int32Array, uniforms: Float32Array, lr: number, momentum: number): number;
  /** The current parameters as typed arrays (the live ones for the JS engines, a copy for tfjs). */
  read(): ImplicitParams;
  /** Mean validation nDCG@k over `users`, when the engine computes it itself (else validationNdcg). */
  validate?(users: readonly number[]): number;
  dispose(): void;
}

/**
 * Catalogs of at least this many items train with the sampled negative phase under 'auto': where the dense
 * reconstruction's I × F products per case cost more than a mini-batch's sample (docs/performance.md,
 * "The implicit RBM's training").
 */
export const SAMPLED_FROM_ITEMS = 20_000;

/** The negative phase the 'shared' engine runs for a catalog of `items`. */
export function negativePhaseFor(
  options: Pick<ImplicitTrainOptions, 'negativePhase' | 'negativeSamples'>,
  items: number,
): 'dense' | 'sampled' {
  if (options.negativePhase !== 'auto') return options.negativePhase;
  return items >= SAMPLED_FROM_ITEMS && options.negativeSamples < items ? 'sampled' : 'dense';
}

/**
 * The phase an implicit training's epoch reports carry: 'implicit' (CD), 'implicit-pl' (pseudo-likelihood
 * members), so progress and the Model page tell the two members' curves apart. Checkpoints stay 'implicit'
 * (only the first, CD, member takes them).
 */
export const implicitPhase = (options: Pick<ImplicitTrainOptions, 'estimator'>): 'implicit' | 'implicit-pl' =>
  options.estimator === 'pl' ? 'implicit-pl' : 'implicit';

/** ε of epoch `epoch` (1-based): constant, or annealed by a half cosine over the epoch budget. */
export function lrAt(options: Pick<ImplicitTrainOptions, 'lr' | 'lrCosine' | 'epochs'>, epoch: number): number {
  return options.lrCosine ? options.lr * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / options.epochs)) : options.lr;
}

/** The engine of `options` over `params` (the 'shared' one copies them into its memory). */
export async function createEngine(
  params: ImplicitParams,
  fit: RatedRows,
  validation: RatedRows | null,
  options: ImplicitTrainOptions,
  rng: Rng,
): Promise<Engine> {
  if (options.estimator === 'pl') {
    const sampled = options.engine === 'sampled' || (options.engine === 'shared' && negativePhaseFor(options, params.items) === 'sampled');
    if (params.hiddenUnits !== 'gaussian' || options.engine === 'tfjs' || sampled || options.cdSteps !== 1) {
      throw new RangeError(
        'implicit RBM pseudo-likelihood training needs Gaussian hidden units, cdSteps 1 and a dense negative phase ' +
          `(engine "shared" or "js"), got ${params.hiddenUnits ?? 'binary'} units on engine "${options.engine}"` +
          (sampled ? ' with a sampled negative phase' : ''),
      );
    }
  }
  // The shared engine's kernels run CD-1; CD-T (T > 1, not a default) trains on the tfjs engine.
  if (options.engine === 'tfjs' || (options.engine === 'shared' && options.cdSteps !== 1)) return tfjsEngine(params, fit, options);
  if (options.engine !== 'shared') return jsEngine(params, fit, options, rng);
  const engine = await SharedEngine.create(
    params,
    fit,
    validation,
    {
      ...options,
      sampled: negativePhaseFor(options, params.items) === 'sampled',
      pseudoLikelihood: options.estimator === 'pl',
    },
    rng,
  );
  return {
    batch: (cases, uniforms, lr, momentum) => engine.batch(cases, uniforms, lr, momentum),
    read: () => engine.read(),
    validate: (users) => engine.validate(users),
    dispose: () => engine.dispose(),
  };
}

function jsEngine(p: ImplicitParams, rows: RatedRows, options: ImplicitTrainOptions, rng: Rng): Engine {
  const grad = zeroGradient(p);
  const inc = zeroGradient(p);
  const scratch = cdScratch(p);
  const T = options.cdSteps;
  const F = p.hidden;
  return {
    batch(cases, uniforms, lr, momentum) {
      grad.W.fill(0);
      grad.b.fill(0);
      grad.c.fill(0);
      let err = 0;
      for (let n = 0; n < cases.length; n++) {
        const u = cases[n];
        const s = rows.rowStart[u];
        const e = rows.rowStart[u + 1];
        err +=
          options.estimator === 'pl'
            ? accumulatePl(p, rows.colIndex, s, e, grad, scratch)
            : options.engine === 'sampled'
              ? accumulateCdSampled(p, rows.colIndex, s, e, T, options.zeroSamples, rng, grad, scratch)
              : accumulateCd(p, rows.colIndex, s, e, T, uniforms, n * T * F, grad, scratch);
      }
      applyUpdate(p, grad, inc, cases.length, lr, momentum, options.weightDecay);
      return err;
    },
    read: () => p,
    dispose: () => undefined,
  };
}

function tfjsEngine(p: ImplicitParams, rows: RatedRows, options: ImplicitTrainOptions): Engine {
  // The positive phase is sparse and stays in typed arrays: p⁰ = σ(c + Σ_{i∈S} W_i) and its statistics
  // touch only the rated rows. The dense negative phase runs in tfjs, laid out so that every product is
  // one the wasm backend runs fast (XNNPACK, untransposed operands; it packs the second operand, the
  // "weights", on every call with a new tensor, so the big operands go first where they can):
  //   Vᵀ = σ(W Hᵀ + b)     I×B: W (I×F) by the sampled hidden states Hᵀ (F×B)
  //   Qᵀ = σ(Wᵀ Vᵀ + c)    F×B: Wᵀ (F×I, kept in JS) by Vᵀ (packed: I×B, half of W)
  //   ∂W −= Vᵀ Q           I×F: Vᵀ by Q (B×F)
  // so V never needs transposing (a B×I transpose cost a third of a product) and W is never packed
  // (packing W's I×F cost more than the product it served). Σ_n V (∂b) and the reconstruction error
  // come from one read of Vᵀ; the I×F product is read in place (readFloat32), the positive statistics
  // added into it, and the momentum update is one pass over it (applyUpdateNegated). The update stays in
  // typed arrays: on the wasm backend an element-wise op over I×F costs about as much as a product.
  const I = p.items;
  const F = p.hidden;
  const T = options.cdSteps;
  const maxB = options.batchSize;
  const inc = zeroGradient(p);
  // Wᵀ, kept current by the update (applyUpdateNegated writes it as it goes).
  const Wt = transposeMatrix(p.W, I, F);
  const P0 = new Float32Array(maxB * F);
  const Ht = new Float32Array(F * maxB);
  const h = new Float32Array(F);
  const negb = new Float32Array(I);
  const negc = new Float32Array(F);
  return {
    batch(cases, uniforms, lr, momentum) {
      const B = cases.length;
      for (let n = 0; n < B; n++) {
        const u = cases[n];
        implicitHidden(p, rows.colIndex, rows.rowStart[u], rows.rowStart[u + 1], h);
        P0.set(h, n * F);
        for (let j = 0; j < F; j++) Ht[j * B + n] = uniforms[n * T * F + j] < h[j] ? 1 : 0;
      }
      const W = tf.tensor2d(p.W, [I, F]);
      const WtT = tf.tensor2d(Wt, [F, I]);
      const b = tf.tensor2d(p.b, [I, 1]);
      const c = tf.tensor2d(p.c, [F, 1]);
      let H = tf.tensor2d(Ht.subarray(0, F * B), [F, B]);
      let Vt: tf.Tensor2D | null = null;
      let Qt: tf.Tensor2D | null = null;
      try {
        for (let t = 1; t <= T; t++) {
          Vt?.dispose();
          Qt?.dispose();
          Vt = tf.tidy(() => tf.sigmoid(tf.matMul(W, H).add(b)) as tf.Tensor2D);
          Qt = tf.tidy(() => tf.sigmoid(tf.matMul(WtT, Vt!).add(c)) as tf.Tensor2D);
          if (t < T) {
            // h ~ qᵗ with the case's uniforms for step t (the same comparisons as the typed-array engine).
            const q = readFloat32(Qt);
            for (let n = 0; n < B; n++) {
              const off = n * T * F + t * F;
              for (let j = 0; j < F; j++) Ht[j * B + n] = uniforms[off + j] < q[j * B + n] ? 1 : 0;
            }
            H.dispose();
            H = tf.tensor2d(Ht.subarray(0, F * B), [F, B]);
          }
        }
        const negW = tf.tidy(() => tf.matMul(Vt!, tf.transpose(Qt!)));
        try {
          // Σ_n over Vᵀ's rows and Qᵀ's rows in float32, in case order (what tf.sum computed before), and
          // Σ V² for the reconstruction error Σ (v⁰ − V)² = Σ V² + Σ_{rated} (1 − 2V).
          const v = readFloat32(Vt!);
          let err = 0;
          for (let i = 0; i < I; i++) {
            let s = 0;
            const row = i * B;
            for (let n = 0; n < B; n++) {
              const x = v[row + n];
              s = Math.fround(s + x);
              err += x * x;
            }
            negb[i] = s;
          }
          for (let n = 0; n < B; n++) {
            const u = cases[n];
            for (let x = rows.rowStart[u]; x < rows.rowStart[u + 1]; x++) err += 1 - 2 * v[rows.colIndex[x] * B + n];
          }
          const q = readFloat32(Qt!);
          for (let j = 0; j < F; j++) {
            let s = 0;
            for (let n = 0; n < B; n++) s = Math.fround(s + q[j * B + n]);
            negc[j] = s;
          }
          // The positive statistics, subtracted from the negative ones in place: −∂ = Σ V Q − Σ v⁰ p⁰.
          const gW = readFloat32(negW);
          for (let n = 0; n < B; n++) {
            const u = cases[n];
            for (let j = 0; j < F; j++) negc[j] -= P0[n * F + j];
            for (let x = rows.rowStart[u]; x < rows.rowStart[u + 1]; x++) {
              const i = rows.colIndex[x];
              negb[i] -= 1;
              const row = i * F;
              for (let j = 0; j < F; j++) gW[row + j] -= P0[n * F + j];
            }
          }
          applyUpdateNegated(p, { W: gW, b: negb, c: negc }, inc, B, lr, momentum, options.weightDecay, Wt);
          return err;
        } finally {
          negW.dispose();
        }
      } finally {
        for (const x of [W, WtT, b, c, H, Vt, Qt]) x?.dispose();
      }
    },
    read: () => p,
    dispose: () => undefined,
  };
}

/**
 * Logits z[n, i] = b_i + Σ_j P[n, j] W[i, j] of every item for a block of B hidden vectors, as one
 * tfjs product P (B×F) · Wᵀ (F×I) + b. `Wt` is the pre-transposed F × I weight tensor.
 */
export function denseLogits(Wt: tf.Tensor2D, b: tf.Tensor2D, P: Float32Array, B: number): Float32Array {
  const F = Wt.shape[0];
  const z = tf.tidy(() => tf.matMul(tf.tensor2d(P, [B, F]), Wt).add(b));
  const out = z.dataSync() as Float32Array;
  z.dispose();
  return out;
}

/** The users with validation items, at most `max` of them, evenly spaced by index (deterministic). */
export function validationUsers(validation: RatedRows, max: number): number[] {
  const users: number[] = [];
  for (let u = 0; u < validation.rows; u++) if (validation.rowStart[u + 1] > validation.rowStart[u]) users.push(u);
  if (users.length <= max) return users;
  return Array.from({ length: max }, (_, n) => users[Math.floor((n * users.length) / max)]);
}

/**
 * Mean nDCG@k over `users` (by default every user with validation items): each user's items ranked by the model's logits given
 * their fit items alone (fit items excluded from the list), binary relevance = the held-out items.
 *   DCG = Σ_{r<k} rel_r / log2(r + 2),   nDCG = DCG / Σ_{r < min(k, |held out|)} 1 / log2(r + 2)
 */
export function validationNdcg(
  p: ImplicitParams,
  fit: RatedRows,
  validation: RatedRows,
  k: number,
  users: readonly number[] = validationUsers(validation, Infinity),
  blockSize = 256,
): number {
  const I = p.items;
  const F = p.hidden;
  if (users.length === 0) return NaN;
  const Wt = tf.tensor2d(transposeMatrix(p.W, I, F), [F, I]);
  const b = tf.tensor2d(p.b, [1, I]);
  const mask = new Uint8Array(I);
  const relevant = new Uint8Array(I);
  const h = new Float32Array(F);
  let total = 0;
  try {
    for (let from = 0; from < users.length; from += blockSize) {
      const block = users.slice(from, from + blockSize);
      const P = new Float32Array(block.length * F);
      block.forEach((u, n) => P.set(implicitHidden(p, fit.colIndex, fit.rowStart[u], fit.rowStart[u + 1], h), n * F));
      // The logits read in place (no copy of block × I floats); no tfjs op runs while they are read.
      const zTensor = tf.tidy(() => tf.matMul(tf.tensor2d(P, [block.length, F]), Wt).add(b));
      try {
        const z = readFloat32(zTensor);
        block.forEach((u, n) => {
          for (let e = fit.rowStart[u]; e < fit.rowStart[u + 1]; e++) mask[fit.colIndex[e]] = 1;
          for (let e = validation.rowStart[u]; e < validation.rowStart[u + 1]; e++) relevant[validation.colIndex[e]] = 1;
          const top = topK(z.subarray(n * I, (n + 1) * I), k, (i) => mask[i] !== 0);
          let dcg = 0;
          for (let r = 0; r < top.length; r++) if (relevant[top[r]]) dcg += 1 / Math.log2(r + 2);
          let idcg = 0;
          const nRel = Math.min(k, validation.rowStart[u + 1] - validation.rowStart[u]);
          for (let r = 0; r < nRel; r++) idcg += 1 / Math.log2(r + 2);
          total += dcg / idcg;
          for (let e = fit.rowStart[u]; e < fit.rowStart[u + 1]; e++) mask[fit.colIndex[e]] = 0;
          for (let e = validation.rowStart[u]; e < validation.rowStart[u + 1]; e++) relevant[validation.colIndex[e]] = 0;
        });
      } finally {
        zTensor.dispose();
      }
    }
  } finally {
    Wt.dispose();
    b.dispose();
  }
  return total / users.length;
}

/**
 * Trains `params` on the users of `fit` (mini-batches in a seeded shuffled order each epoch), evaluating
 * nDCG@k on `validation` after every epoch and returning the best epoch's parameters (early stopping).
 * Hidden units are sampled with uniforms drawn from `rng` case by case, step by step, so the 'js' and
 * 'tfjs' engines see the same numbers.
 */
export async function trainImplicitRbm(
  params: ImplicitParams,
  fit: RatedRows,
  validation: RatedRows | null,
  options: ImplicitTrainOptions,
  rng: Rng,
  onEpoch?: (report: EpochReport) => void,
  hooks: ImplicitTrainHooks = {},
): Promise<ImplicitTrainResult> {
  const started = performance.now();
  const resume = hooks.resumeFrom ?? null;
  const F = params.hidden;
  const T = options.cdSteps;
  const engine = await createEngine(params, fit, validation, options, rng);
  const order = Int32Array.from({ length: fit.rows }, (_, u) => u);
  const uniforms = new Float32Array(options.batchSize * T * F);
  const scored = validation ? validationUsers(validation, options.validationUsers) : [];
  const curve: EpochReport[] = resume ? [...resume.curve] : [];
  const resumedBest = resume !== null && resume.bestValidationRmse !== null;
  let best: ImplicitParams | null = resumedBest ? cloneImplicitParams(params) : null;
  let bestEpoch = resume?.bestEpoch ?? 0;
  let bestNdcg = resumedBest ? 1 - resume.bestValidationRmse! : -Infinity;
  const now = hooks.now ?? (() => performance.now());
  const checkpointEveryMs = hooks.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS;
  let lastCheckpoint = now();
  let epoch = 0;
  let last: ImplicitParams | null = null;
  let lastYield = performance.now();
  const yieldEveryMs = hooks.yieldEveryMs ?? YIELD_EVERY_MS;
  try {
    for (epoch = resume ? resume.epoch + 1 : 1; epoch <= options.epochs; epoch++) {
      const epochStart = performance.now();
      const momentum = epoch >= options.momentumFromEpoch ? options.momentum : options.initialMomentum;
      rng.shuffle(order);
      let err = 0;
      for (let from = 0; from < order.length; from += options.batchSize) {
        const cases = order.subarray(from, Math.min(order.length, from + options.batchSize));
        if (options.engine !== 'sampled') for (let n = 0; n < cases.length * T * F; n++) uniforms[n] = rng.next();
        err += engine.batch(cases, uniforms, lrAt(options, epoch), momentum);
        if (performance.now() - lastYield >= yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      const current = engine.read();
      if (!allFinite(current.W) || !allFinite(current.b) || !allFinite(current.c)) {
        throw new Error(
          `implicit RBM training diverged in epoch ${epoch}: weights became NaN or infinite; try a smaller lr or more weightDecay`,
        );
      }
      const ndcg = !validation
        ? NaN
        : engine.validate
          ? engine.validate(scored)
          : validationNdcg(current, fit, validation, options.rankCutoff, scored);
      const report: EpochReport = {
        phase: implicitPhase(options),
        epoch,
        cdSteps: T,
        ...(options.estimator === 'pl' ? { estimator: 'pseudo-likelihood' as const } : {}),
        trainRmse: Math.sqrt(err / Math.max(1, fit.rows * params.items)),
        validationRmse: Number.isFinite(ndcg) ? 1 - ndcg : null,
        seconds: (performance.now() - epochStart) / 1000,
        maxEpochs: options.epochs,
      };
      curve.push(report);
      onEpoch?.(report);
      let stop = false;
      if (Number.isFinite(ndcg)) {
        if (ndcg > bestNdcg) {
          bestNdcg = ndcg;
          bestEpoch = epoch;
          best = cloneImplicitParams(current);
        } else if (epoch - bestEpoch >= options.patience) {
          stop = true;
        }
      }
      if (hooks.onCheckpoint && !stop && epoch < options.epochs && now() - lastCheckpoint >= checkpointEveryMs) {
        hooks.onCheckpoint({
          phase: 'implicit',
          epoch,
          params: checkpointParamsOf(best ?? current),
          bestEpoch: best ? bestEpoch : epoch,
          bestValidationRmse: best ? 1 - bestNdcg : null,
          curve: [...curve],
        });
        lastCheckpoint = now();
      }
      if (stop) break;
    }
    if (!best) last = cloneImplicitParams(engine.read());
  } finally {
    engine.dispose();
  }
  const epochs = Math.min(epoch, options.epochs);
  return {
    params: best ?? last ?? cloneImplicitParams(params),
    curve,
    bestEpoch: best ? bestEpoch : epochs,
    bestNdcg: best ? bestNdcg : null,
    epochs,
    seconds: (performance.now() - started) / 1000,
  };
}

function allFinite(a: Float32Array): boolean {
  for (let n = 0; n < a.length; n++) if (!Number.isFinite(a[n])) return false;
  return true;
}
