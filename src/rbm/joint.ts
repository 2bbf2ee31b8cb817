/**
 * The joint RBM of issue 11 item 2: one hidden layer that sees both what a user rated and how. It is the
 * conditional RBM of Salakhutdinov, Mnih & Hinton (2007, §4) — K-way softmax rating units for the rated
 * items plus a binary "rated" vector v over all items feeding the hidden units through D — extended so
 * that v is reconstructed too (v becomes Bernoulli visible units, as in the implicit RBM):
 *
 *   E(r, v, h) = −Σ_{i rated} (bR[i, r_i] + Σ_j W[i, r_i, j] h_j) − Σ_i v_i (bV_i + Σ_j D[i,j] h_j) − Σ_j c_j h_j
 *   p(h_j = 1 | r, v)   = σ(c_j + Σ_{i rated} (W[i, r_i, j] + D[i,j]))
 *   p(v_i = 1 | h)      = σ(bV_i + Σ_j D[i,j] h_j)                         p(watch), every item
 *   p(r_i = k | h, v_i = 1) = softmax_k(bR[i,k] + Σ_j W[i,k,j] h_j)         the rating if watched
 *
 * CD-1 with mean-field reconstructions: ratings reconstructed on the rated items (as the softmax RBM
 * does), v on every item (dense, in tfjs), then q = σ(c + Σ_{i rated} Σ_k r̂_ik W[i,k] + Σ_i v̂_i D_i).
 * Early stopping on the validation slice by nDCG@k of p(watch) · p(r ≥ liked | watch). Pure: no I/O.
 */
import { compressRows, type Dataset } from '../data/dataset.js';
import type { EpochReport } from '../model/protocol.js';
import { Rng } from '../rng.js';
import { initBackend, tf } from './backend.js';
import { carveValidation, likedLevelIndex, ratedRows, rowsFromLists } from './implicit.js';
import { itemLogOdds } from './implicitParams.js';
import { topK, transposeMatrix } from './implicitTrain.js';
import { sigmoid } from './params.js';

export interface JointParams {
  readonly items: number;
  readonly levels: number;
  readonly hidden: number;
  /** W[i,k,j] at ((i·K) + k)·F + j. */
  readonly W: Float32Array;
  /** bR[i,k] at i·K + k. */
  readonly bR: Float32Array;
  /** D[i,j] at i·F + j. */
  readonly D: Float32Array;
  readonly bV: Float32Array;
  readonly c: Float32Array;
}

export interface JointOptions {
  hidden: number;
  epochs: number;
  lr: number;
  momentum: number;
  initialMomentum: number;
  momentumFromEpoch: number;
  weightDecay: number;
  batchSize: number;
  patience: number;
  initScale: number;
  rankCutoff: number;
  seed: number;
  validationFraction: number;
}

export const DEFAULT_JOINT_OPTIONS: JointOptions = {
  hidden: 200,
  epochs: 60,
  lr: 0.05,
  momentum: 0.9,
  initialMomentum: 0.5,
  momentumFromEpoch: 5,
  weightDecay: 0.002,
  batchSize: 50,
  patience: 5,
  initScale: 0.01,
  rankCutoff: 10,
  seed: 0,
  validationFraction: 0.1,
};

/** A user's ratings: distinct items with their level indices. */
export interface JointUser {
  items: ArrayLike<number>;
  levels: ArrayLike<number>;
}

/** p̂ = p(h | r, v) for one user. */
export function jointHidden(p: JointParams, user: JointUser, out: Float32Array): Float32Array {
  const { W, D, c, hidden: F, levels: K } = p;
  out.set(c);
  for (let n = 0; n < user.items.length; n++) {
    const i = user.items[n];
    const w = (i * K + user.levels[n]) * F;
    const d = i * F;
    for (let j = 0; j < F; j++) out[j] += W[w + j] + D[d + j];
  }
  for (let j = 0; j < F; j++) out[j] = sigmoid(out[j]);
  return out;
}

function ratingDistribution(p: JointParams, i: number, h: ArrayLike<number>, out: Float32Array, offset: number): void {
  const { W, bR, hidden: F, levels: K } = p;
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    const row = (i * K + k) * F;
    let x = bR[i * K + k];
    for (let j = 0; j < F; j++) x += W[row + j] * h[j];
    out[offset + k] = x;
    if (x > max) max = x;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) sum += out[offset + k] = Math.exp(out[offset + k] - max);
  for (let k = 0; k < K; k++) out[offset + k] /= sum;
}

export interface JointScores {
  /** p(v_i = 1 | p̂) of every item. */
  watch: Float32Array;
  /** p(r_i = k | p̂), items × K row-major. */
  distribution: Float32Array;
}

/**
 * Scores of every item for a block of users as dense tfjs products (pre-transposed weights):
 *   watch = σ(P̂ Dᵀ + bV)   (B×I),   distribution = softmax_k(P̂ Wᵀ + bR)   (B×I×K)
 */
export function jointScoresBlock(p: JointParams, users: readonly JointUser[]): JointScores[] {
  const { items: I, hidden: F, levels: K } = p;
  const B = users.length;
  const P = new Float32Array(B * F);
  const h = new Float32Array(F);
  users.forEach((u, n) => P.set(jointHidden(p, u, h), n * F));
  // tidy returns tensors only: it walks whatever it returns, element by element for typed arrays.
  const tensors = tf.tidy(() => {
    const Pt = tf.tensor2d(P, [B, F]);
    const w = tf.sigmoid(tf.matMul(Pt, tf.tensor2d(transposeMatrix(p.D, I, F), [F, I])).add(tf.tensor2d(p.bV, [1, I])));
    const z = tf.matMul(Pt, tf.tensor2d(transposeMatrix(p.W, I * K, F), [F, I * K])).reshape([B, I, K]).add(tf.tensor3d(p.bR, [1, I, K]));
    return { w, d: tf.softmax(z) };
  });
  const watch = tensors.w.dataSync() as Float32Array;
  const dist = tensors.d.dataSync() as Float32Array;
  tf.dispose([tensors.w, tensors.d]);
  return users.map((_, n) => ({ watch: watch.slice(n * I, (n + 1) * I), distribution: dist.slice(n * I * K, (n + 1) * I * K) }));
}

/** p(r_i = k | h) over the K levels, for the reconstruction of one rated item. */
/** score_i = p(watch_i) · Σ_{k ≥ liked} p(r_i = k). */
function combinedScore(s: JointScores, K: number, liked: number): Float32Array {
  const out = new Float32Array(s.watch.length);
  for (let i = 0; i < out.length; i++) {
    let like = 0;
    for (let k = liked; k < K; k++) like += s.distribution[i * K + k];
    out[i] = s.watch[i] * like;
  }
  return out;
}

interface Rows {
  rowStart: Int32Array;
  items: Int32Array;
  levels: Uint8Array;
}

function userOf(rows: Rows, u: number): JointUser {
  return { items: rows.items.subarray(rows.rowStart[u], rows.rowStart[u + 1]), levels: rows.levels.subarray(rows.rowStart[u], rows.rowStart[u + 1]) };
}

export interface JointModel {
  params: JointParams;
  options: JointOptions;
  training: { epochs: number; bestEpoch: number; bestValidationNdcg: number; seconds: number; curve: EpochReport[] };
}

/**
 * Fits the joint RBM on `train` with the implicit RBM's protocol: per-user validation slice carved with
 * the seed, W ~ N(0, initScale²), bV = items' log-odds of being rated, bR = smoothed log frequencies of
 * each item's levels, c = 0; CD-1, momentum, weight decay, early stopping by validation nDCG@k of the
 * combined score.
 */
export async function fitJointRbm(train: Dataset, input: Partial<JointOptions> = {}, onEpoch?: (r: EpochReport) => void): Promise<JointModel> {
  const o: JointOptions = { ...DEFAULT_JOINT_OPTIONS, ...input };
  await initBackend();
  const started = performance.now();
  const rng = new Rng(o.seed);
  const I = train.itemIds.length;
  const K = train.ratingLevels.length;
  const F = o.hidden;
  const liked = likedLevelIndex(train.ratingLevels);
  // Level of each (user, item): the user's rows as the implicit RBM carves them, levels looked up.
  const byUser = compressRows(train, 'user');
  const levelOf = new Map<number, number>();
  for (let u = 0; u < byUser.rows; u++) {
    for (let e = byUser.rowStart[u]; e < byUser.rowStart[u + 1]; e++) levelOf.set(u * I + byUser.colIndex[e], byUser.levels[e]);
  }
  const { fit, validation } = carveValidation(ratedRows(train), o.validationFraction, rng);
  const fitRows: Rows = { rowStart: fit.rowStart, items: fit.colIndex, levels: Uint8Array.from(fit.colIndex, (i, e) => levelOf.get(userAt(fit.rowStart, e) * I + i)!) };
  const U = fit.rows;
  const counts = new Float64Array(I);
  const levelCounts = new Float64Array(I * K);
  for (let e = 0; e < fitRows.items.length; e++) {
    counts[fitRows.items[e]]++;
    levelCounts[fitRows.items[e] * K + fitRows.levels[e]]++;
  }
  const bR = new Float32Array(I * K);
  for (let i = 0; i < I; i++) for (let k = 0; k < K; k++) bR[i * K + k] = Math.log((levelCounts[i * K + k] + 2 / K) / (counts[i] + 2));
  const p: JointParams = {
    items: I,
    levels: K,
    hidden: F,
    W: new Float32Array(I * K * F).map(() => rng.normal() * o.initScale),
    bR,
    D: new Float32Array(I * F).map(() => rng.normal() * o.initScale),
    bV: itemLogOdds(counts, U),
    c: new Float32Array(F),
  };
  const inc = { W: new Float32Array(p.W.length), bR: new Float32Array(p.bR.length), D: new Float32Array(p.D.length), bV: new Float32Array(I), c: new Float32Array(F) };
  const g = { W: new Float32Array(p.W.length), bR: new Float32Array(p.bR.length), D: new Float32Array(p.D.length), bV: new Float32Array(I), c: new Float32Array(F) };
  const order = Int32Array.from({ length: U }, (_, u) => u);
  const Dt = new Float32Array(I * F);
  const p0 = new Float32Array(F);
  const dist = new Float32Array(K);
  const valUsers: number[] = [];
  for (let u = 0; u < U; u++) if (validation.rowStart[u + 1] > validation.rowStart[u]) valUsers.push(u);
  const curve: EpochReport[] = [];
  let best: JointParams | null = null;
  let bestEpoch = 0;
  let bestNdcg = -Infinity;
  let epoch = 1;
  for (; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    const momentum = epoch >= o.momentumFromEpoch ? o.momentum : o.initialMomentum;
    rng.shuffle(order);
    for (let from = 0; from < U; from += o.batchSize) {
      const cases = order.subarray(from, Math.min(U, from + o.batchSize));
      const B = cases.length;
      for (const a of Object.values(g)) a.fill(0);
      const H = new Float32Array(B * F);
      const QR = new Float32Array(B * F); // Σ_{rated} Σ_k r̂_ik W[i,k] per case: the rating part of q's input
      const recon: Float32Array[] = [];
      for (let n = 0; n < B; n++) {
        const user = userOf(fitRows, cases[n]);
        jointHidden(p, user, p0);
        for (let j = 0; j < F; j++) {
          H[n * F + j] = rng.next() < p0[j] ? 1 : 0;
          g.c[j] += p0[j];
        }
        const h = H.subarray(n * F, (n + 1) * F);
        const r = new Float32Array(user.items.length * K);
        for (let m = 0; m < user.items.length; m++) {
          const i = user.items[m];
          const w = (i * K + user.levels[m]) * F;
          for (let j = 0; j < F; j++) {
            g.W[w + j] += p0[j];
            g.D[i * F + j] += p0[j];
          }
          g.bR[i * K + user.levels[m]] += 1;
          g.bV[i] += 1;
          ratingDistribution(p, i, h, dist, 0);
          r.set(dist, m * K);
          for (let k = 0; k < K; k++) {
            const row = (i * K + k) * F;
            const a = dist[k];
            for (let j = 0; j < F; j++) QR[n * F + j] += a * p.W[row + j];
          }
        }
        recon.push(r);
      }
      transposeInto(p.D, I, F, Dt);
      const Vt = tf.tidy(() => tf.sigmoid(tf.matMul(tf.tensor2d(H, [B, F]), tf.tensor2d(Dt, [F, I])).add(tf.tensor2d(p.bV, [1, I]))));
      const VDt = tf.tidy(() => tf.matMul(Vt, tf.tensor2d(p.D, [I, F])));
      const VD = VDt.dataSync() as Float32Array;
      VDt.dispose();
      const Q = new Float32Array(B * F);
      for (let n = 0; n < B; n++) for (let j = 0; j < F; j++) Q[n * F + j] = sigmoid(p.c[j] + QR[n * F + j] + VD[n * F + j]);
      const negT = tf.tidy(() => ({ D: tf.matMul(tf.transpose(Vt), tf.tensor2d(Q, [B, F])), bV: tf.sum(Vt, 0) }));
      const neg = { D: negT.D.dataSync() as Float32Array, bV: negT.bV.dataSync() as Float32Array };
      tf.dispose([Vt, negT.D, negT.bV]);
      for (let x = 0; x < g.D.length; x++) g.D[x] -= neg.D[x];
      for (let i = 0; i < I; i++) g.bV[i] -= neg.bV[i];
      for (let n = 0; n < B; n++) {
        const user = userOf(fitRows, cases[n]);
        const r = recon[n];
        for (let j = 0; j < F; j++) g.c[j] -= Q[n * F + j];
        for (let m = 0; m < user.items.length; m++) {
          const i = user.items[m];
          for (let k = 0; k < K; k++) {
            const a = r[m * K + k];
            const row = (i * K + k) * F;
            for (let j = 0; j < F; j++) g.W[row + j] -= a * Q[n * F + j];
            g.bR[i * K + k] -= a;
          }
        }
      }
      const step = (theta: Float32Array, grad: Float32Array, v: Float32Array, decay: number): void => {
        for (let x = 0; x < theta.length; x++) {
          v[x] = momentum * v[x] + o.lr * (grad[x] / B - decay * theta[x]);
          theta[x] += v[x];
        }
      };
      step(p.W, g.W, inc.W, o.weightDecay);
      step(p.D, g.D, inc.D, o.weightDecay);
      step(p.bR, g.bR, inc.bR, 0);
      step(p.bV, g.bV, inc.bV, 0);
      step(p.c, g.c, inc.c, 0);
    }
    // Validation: rank by the combined score given the fit ratings, relevance = held-out items.
    let total = 0;
    for (let from = 0; from < valUsers.length; from += 256) {
      const block = valUsers.slice(from, from + 256);
      const scores = jointScoresBlock(p, block.map((u) => userOf(fitRows, u)));
      block.forEach((u, n) => {
        const mask = new Uint8Array(I);
        for (let e = fit.rowStart[u]; e < fit.rowStart[u + 1]; e++) mask[fit.colIndex[e]] = 1;
        const rel = new Set(validation.colIndex.subarray(validation.rowStart[u], validation.rowStart[u + 1]));
        const top = topK(combinedScore(scores[n], K, liked), 0, I, o.rankCutoff, mask);
        let dcg = 0;
        top.forEach((i, r) => (dcg += rel.has(i) ? 1 / Math.log2(r + 2) : 0));
        let idcg = 0;
        for (let r = 0; r < Math.min(o.rankCutoff, rel.size); r++) idcg += 1 / Math.log2(r + 2);
        total += dcg / idcg;
      });
    }
    const ndcg = total / Math.max(1, valUsers.length);
    const report: EpochReport = { phase: 'joint', epoch, cdSteps: 1, trainRmse: NaN, validationRmse: 1 - ndcg, seconds: (performance.now() - t0) / 1000 };
    curve.push(report);
    onEpoch?.(report);
    if (ndcg > bestNdcg) {
      bestNdcg = ndcg;
      bestEpoch = epoch;
      best = { ...p, W: p.W.slice(), bR: p.bR.slice(), D: p.D.slice(), bV: p.bV.slice(), c: p.c.slice() };
    } else if (epoch - bestEpoch >= o.patience) {
      break;
    }
  }
  return {
    params: best ?? p,
    options: o,
    training: { epochs: Math.min(epoch, o.epochs), bestEpoch, bestValidationNdcg: bestNdcg, seconds: (performance.now() - started) / 1000, curve },
  };
}

/** Users' rows built from item/level lists (for scoring users outside the training data). */
export function jointUsers(lists: readonly { items: number[]; levels: number[] }[], items: number): JointUser[] {
  const rows = rowsFromLists(lists.map((l) => l.items), items);
  return lists.map((l, u) => {
    const its = rows.colIndex.subarray(rows.rowStart[u], rows.rowStart[u + 1]);
    const levelOf = new Map(l.items.map((i, n) => [i, l.levels[n]]));
    return { items: its, levels: Uint8Array.from(its, (i) => levelOf.get(i)!) };
  });
}

function userAt(rowStart: Int32Array, e: number): number {
  let lo = 0;
  let hi = rowStart.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (rowStart[mid] <= e) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function transposeInto(a: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
}
