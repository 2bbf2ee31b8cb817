/**
 * Batch scoring: every item for a block of users as dense tfjs products, the one place where tfjs's
 * matMul pays (measured ~30 GFLOP/s on wasm here, against ~1 for plain loops). Memory is bounded by the
 * block: B users × items × K floats at a time, whatever the data size.
 *
 *   user RBM:  Z[u, i, k] = b[i,k] + Σ_j p̂_uj W[i,k,j]     = P (B×F) · Wᵀ (F × I·K)
 *   item RBM:  Z[u, i, k] = b_u[k] + Σ_j ĥ_ij W_u[k,j]      = Ĥ (I×F) · W_blockᵀ (F × B·K)
 *   E[u, i]   = Σ_k levels_k · softmax_k(Z[u, i, :]),  mixed with the bias baseline as in RbmRecommender.
 */
import type { KnownRatings, RatingModel } from '../model/types.js';
import { tf } from './backend.js';
import { hiddenProbabilities } from './params.js';
import { RbmRecommender, transposeRows } from './recommender.js';

export interface ScoringUser {
  ratings: KnownRatings;
  userIndex?: number;
  refit?: boolean;
}

/**
 * Expected rating of every item index for each user, in order, one Float32Array (length itemCount) per
 * user. RbmRecommender models are scored in blocks with tfjs; any other RatingModel through foldIn.
 */
export async function* scoreUsers(
  model: RatingModel,
  users: Iterable<ScoringUser>,
  options: { blockSize?: number } = {},
): AsyncGenerator<Float32Array> {
  const allItems = new Int32Array(model.itemCount);
  for (let i = 0; i < allItems.length; i++) allItems[i] = i;
  if (!(model instanceof RbmRecommender)) {
    for (const u of users) yield model.foldIn(u.ratings, u).predict(allItems).expected;
    return;
  }
  const blockSize = options.blockSize ?? 256;
  const constants = scoringConstants(model);
  try {
    let block: ScoringUser[] = [];
    for (const u of users) {
      block.push(u);
      if (block.length === blockSize) {
        yield* await scoreBlock(model, constants, block);
        block = [];
      }
    }
    if (block.length > 0) yield* await scoreBlock(model, constants, block);
  } finally {
    for (const t of Object.values(constants)) t?.dispose();
  }
}

/** Tensors that do not depend on the users, uploaded once per scoring run. */
interface ScoringConstants {
  levels: tf.Tensor2D;
  /** Wᵀ of the user RBM, F × (I·K): pre-transposed because wasm's matMul with transposeB is ~10× slower. */
  userWt: tf.Tensor2D | null;
  userB: tf.Tensor2D | null;
  itemHidden: tf.Tensor2D | null;
}

function scoringConstants(model: RbmRecommender): ScoringConstants {
  const { user, item, mixture, ratingLevels } = model.parts;
  const K = ratingLevels.length;
  const I = model.itemCount;
  const useUser = user !== null && mixture.user > 0;
  return {
    levels: tf.tensor2d(Float32Array.from(ratingLevels), [K, 1]),
    userWt: useUser ? tf.tensor2d(transposeRows(user.W, I * K, user.hidden), [user.hidden, I * K]) : null,
    userB: useUser ? tf.tensor2d(user.b, [I, K]) : null,
    itemHidden: item && mixture.item > 0 ? tf.tensor2d(item.itemHidden, [I, item.params.hidden]) : null,
  };
}


async function scoreBlock(model: RbmRecommender, constants: ScoringConstants, block: ScoringUser[]): Promise<Float32Array[]> {
  const { user, item, mixture, bias, itemTrainCount, ratingLevels } = model.parts;
  const K = ratingLevels.length;
  const I = model.itemCount;
  const B = block.length;
  const levelsT = constants.levels;
  // The bias baseline for every pair; it stays the answer for users without ratings and unknown items.
  const results = block.map((u) => {
    const known = u.userIndex !== undefined && u.userIndex >= 0 && u.userIndex < bias.userCount && !u.refit;
    const userBias = known ? bias.userBias[u.userIndex!] : bias.fitUserBias(u.ratings);
    const out = new Float32Array(I);
    for (let i = 0; i < I; i++) out[i] = bias.predictValue(userBias, i);
    return out;
  });
  const hasRatings = block.map((u) => u.ratings.items.length > 0);
  // Elsewhere the mixture: w_B · bias, then + w_U · E_U and + w_I · E_I.
  for (let n = 0; n < B; n++) {
    if (!hasRatings[n]) continue;
    for (let i = 0; i < I; i++) if (itemTrainCount[i] !== 0) results[n][i] *= mixture.bias;
  }
  const addComponent = async (weight: number, expectedTensor: tf.Tensor2D): Promise<void> => {
    const e = (await expectedTensor.data()) as Float32Array;
    expectedTensor.dispose();
    for (let n = 0; n < B; n++) {
      if (!hasRatings[n]) continue;
      const out = results[n];
      for (let i = 0; i < I; i++) if (itemTrainCount[i] !== 0) out[i] += weight * e[n * I + i];
    }
  };
  if (user && mixture.user > 0) {
    const F = user.hidden;
    const P = new Float32Array(B * F);
    const h = new Float32Array(F);
    block.forEach((u, n) => {
      hiddenProbabilities(user, u.ratings.items, u.ratings.levels, 0, u.ratings.items.length, h);
      P.set(h, n * F);
    });
    const { userWt, userB } = constants;
    const expectedU = tf.tidy(() => {
      const logits = tf.matMul(tf.tensor2d(P, [B, F]), userWt!).reshape([B, I, K]).add(userB!);
      return tf.softmax(logits).reshape([B * I, K]).matMul(levelsT).reshape([B, I]) as tf.Tensor2D;
    });
    await addComponent(mixture.user, expectedU);
  }
  if (item && mixture.item > 0) {
    const F = item.params.hidden;
    // The block's user units laid out directly as F × (B·K), so the product needs no transpose.
    const WbT = new Float32Array(F * B * K);
    const bb = new Float32Array(B * K);
    block.forEach((u, n) => {
      if (!hasRatings[n]) return;
      const unit = model.itemRbmUserUnit(u.ratings, u);
      if (!unit) return;
      for (let k = 0; k < K; k++) for (let j = 0; j < F; j++) WbT[j * B * K + n * K + k] = unit.W[k * F + j];
      bb.set(unit.b, n * K);
    });
    const H = constants.itemHidden!;
    const expectedI = tf.tidy(() => {
      const logits = tf.matMul(H, tf.tensor2d(WbT, [F, B * K])) // I × (B·K)
        .reshape([I, B, K]).transpose([1, 0, 2]).add(tf.tensor3d(bb, [B, 1, K]));
      return tf.softmax(logits).reshape([B * I, K]).matMul(levelsT).reshape([B, I]) as tf.Tensor2D;
    });
    await addComponent(mixture.item, expectedI);
  }
  return results;
}
