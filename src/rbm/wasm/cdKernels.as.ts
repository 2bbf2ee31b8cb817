/**
 * CD training kernels of the softmax-visible RBM in AssemblyScript, compiled to WebAssembly with 128-bit
 * SIMD (f32x4) by scripts/build-wasm.ts into cdKernels.wasm. The reference, and the fallback where this
 * module cannot load, is the plain-JS code in ../kernels.ts: the two compute the same updates, this one
 * in another summation order (results agree to float rounding, not bit for bit).
 *
 * One instance trains one RBM. Its linear memory holds everything the epoch loop touches, laid out by
 * `plan` after the module's static data:
 *   W, b, c                     parameters, layout as in ../params.ts (W[i,k,j] at ((i·K)+k)·F + j)
 *   vW, vb, vc                  momentum velocities
 *   lastStep, isTouched, touched, pending  lazy-momentum bookkeeping per visible row
 *   rowStart, cols, levels, chain, order   the training cases (compressed rows) and the epoch's order
 *   ph0, ph, sph0, sph, mask, qv, probs, negLevels, negProbs, ratingLevels   per-case scratch
 *   slot, caseRow/Delta/State, batchPh0/Ph/Mask, groupStart/N/C, batchDraw/Neg/Q   one batch, row by row
 *   powers of the lazy-momentum matrices
 *
 * No gradient accumulator gW: the batch's gradient goes straight into the velocity. The update
 *   v ← μ v + ε (g / B − λ W);   W ← W + v
 * is split as: on a row's first touch in a batch, v ← μ v − ελ W (after catching the row up); each case
 * then adds (ε/B)·g_case to v; at the end of the batch W ← W + v. In exact arithmetic this is the same
 * update, with one V·K·F array less (W is not changed until the batch ends, so every case of the batch
 * still reads the same weights).
 *
 * Even W ← W + v is deferred: a row the batch touched is left "pending" (its true W is W + v) and the
 * addition is folded into the linear map that catches the row up when it is next read (or at flush),
 * which saves a pass over the touched rows per batch.
 *
 * Randomness: an exact port of src/rng.ts's xoshiro128** whose state JS hands in and takes back around
 * each call, so the stream of draws is the one the JS kernels would consume.
 *
 * Row by row within a mini-batch (trainBatch, what trainEpoch runs at T = 1). A visible row is K×F floats
 * of W and as many of v (4 KB each at K = 10, F = 100); at MovieLens-25M scale there are far more rows
 * than any cache holds. Case by case, each rating brings its row in three times (catch-up, the Gibbs
 * step's K masked sums, the gradient into v). All cases of a batch read the same W, and a row's gradient
 * terms only add up, so the batch can be reordered exactly: positive phases first (each case's K-slice
 * W[i, r_i, :] computed from the stored W and v through the row's catch-up map, without writing the row),
 * then one pass over the touched rows, in ascending order, that prepares each row and, while it is in L1,
 * does the reconstruction of every rating of the batch on it (accumulating each case's next hidden input),
 * then one pass the other way adding the gradient. The random draws are taken case by case in the per-case
 * order and kept by rating. See trainBatch. Measured (scripts/bench-cd.ts), this gains little over case by
 * case (0–6% at T = 1): there the second and third touches of a row mostly hit the cache already, so both
 * read and write each touched row about once per batch from memory (~16 KB, ~22 M row-batches an epoch in
 * either orientation at B = 20), and the rest is arithmetic of similar cost (K·F-long masked sums, mixture
 * and gradient per rating, the 2×2 catch-up map per row). At T > 1 it measured slower (see
 * rowWiseMaxSteps), so those epochs go case by case, through the case-by-case entry points (prepareCase,
 * accumulateCase), which also serve the tests and any batch larger than the planned batch buffers.
 *
 * Built with --runtime stub and no allocation: all memory is planned once, pointers are plain offsets.
 */

// ---- sizes and pointers (set by plan) ----
let V: i32 = 0;
let K: i32 = 0;
let F: i32 = 0;
/** F rounded down to a multiple of 4: the SIMD part of every row; [F4, F) is the scalar tail. */
let F4: i32 = 0;
let ROWS: i32 = 0;
let PERSISTENT: bool = false;

let pW: usize = 0;
let pB: usize = 0;
let pC: usize = 0;
let pVW: usize = 0;
let pVB: usize = 0;
let pVC: usize = 0;
let pLastStep: usize = 0;
let pIsTouched: usize = 0;
let pPending: usize = 0;
let pTouched: usize = 0;
let pRowStart: usize = 0;
let pCols: usize = 0;
let pLevels: usize = 0;
let pChain: usize = 0;
let pOrder: usize = 0;
let pPh0: usize = 0;
let pPh: usize = 0;
let pSph0: usize = 0;
let pSph: usize = 0;
let pMask: usize = 0;
let pQv: usize = 0;
let pProbs: usize = 0;
let pNegLevels: usize = 0;
let pNegProbs: usize = 0;
let pRatingLevels: usize = 0;
let pSlot: usize = 0;
let pCaseRow: usize = 0;
let pCaseDelta: usize = 0;
let pCaseState: usize = 0;
let pBatchPh0: usize = 0;
let pBatchPh: usize = 0;
let pBatchMask: usize = 0;
let pGroupStart: usize = 0;
let pGroupN: usize = 0;
let pGroupC: usize = 0;
let pBatchDraw: usize = 0;
let pBatchNeg: usize = 0;
let pBatchQ: usize = 0;
/** Squared reconstruction error of each rating of a batch (parallelEpoch sums them in the serial order). */
let pBatchErr: usize = 0;
/** A batch's case slots, longest first: the order in which parallelEpoch's workers take cases. */
let pCaseQueue: usize = 0;
/** Synchronisation words of parallelEpoch, one per 64-byte line (see SYNC_*). */
let pSync: usize = 0;
/** The validation slice's rows and columns, one prediction per entry, the rows a pass predicts (see predictRows). */
let pValRowStart: usize = 0;
let pValCols: usize = 0;
let pValOut: usize = 0;
let pPredRows: usize = 0;
/** Cases whose hidden probabilities are asked for (hiddenRows): their ratings and F outputs per case. */
let pFeatRowStart: usize = 0;
let pFeatCols: usize = 0;
let pFeatLevels: usize = 0;
let pFeatOut: usize = 0;
/** Per-worker scratch of a prediction: the case's hidden probabilities, the K visible inputs. */
let pPredH: usize = 0;
let pPredX: usize = 0;
/** Threads sharing this memory (parallelEpoch) and this instance's index among them (0 leads). */
let WORKERS: i32 = 1;
let WORKER: i32 = 0;
/** Cases and ratings per mini-batch that the batch buffers hold (trainEpoch's larger batches go per case). */
let maxBatchCases: i32 = 0;
/** Whether trainBatch visits the touched rows in ascending order (else in order of first touch). */
const SORT_ROWS: bool = true;
let maxBatchRatings: i32 = 0;
let pPowW: usize = 0;
let pPowB: usize = 0;
/** Entries of the power caches: A^0 … A^(powCap − 1). */
let powCap: i32 = 0;
/** Entries computed so far (for the current ε, μ). */
let powLen: i32 = 0;

// ---- optimiser state ----
let lr: f64 = 0;
let mu: f64 = 0;
let decay: f64 = 0;
/** ε/B of the current batch. */
let scale: f32 = 0;
let step: i32 = 0;
let touchedCount: i32 = 0;

// ---- statistics of the current epoch ----
let squaredError: f64 = 0;
let errorCount: f64 = 0;

// ---- xoshiro128** state (src/rng.ts) ----
let s0: u32 = 0;
let s1: u32 = 0;
let s2: u32 = 0;
let s3: u32 = 0;

@inline function align16(p: u64): u64 {
  return (p + 15) & ~(<u64>15);
}

@inline function align64(p: u64): u64 {
  return (p + 63) & ~(<u64>63);
}

/**
 * Lays out memory for an RBM of V visibles, K levels, F hidden units and training cases of `rows` rows
 * holding `nnz` ratings (at most `maxCase` per case), growing memory as needed. Returns the end of the
 * used memory in bytes, or 0 if it does not fit in 4 GiB. Everything is zero after plan except what JS
 * copies in (W, b, c, the cases, the rating levels).
 *
 * `workers` instances share this memory when an epoch runs on several threads (parallelEpoch): each calls
 * plan with the same sizes and its own `worker` index (0 first, which grows the memory), so all agree on
 * the shared layout, and each gets its own per-case scratch and lazy-momentum power caches.
 */
export function plan(
  v: i32, k: i32, f: i32, rows: i32, nnz: i32, maxCase: i32, persistent: bool, maxGap: i32, batchCases: i32, batchRatings: i32,
  valNnz: i32, featureNnz: i32, workers: i32, worker: i32,
): f64 {
  V = v;
  K = k;
  F = f;
  F4 = f & ~3;
  ROWS = rows;
  PERSISTENT = persistent;
  WORKERS = workers;
  WORKER = worker;
  powCap = maxGap + 2;
  const vkf = <u64>v * <u64>k * <u64>f;
  let p = align64(<u64>__heap_base);
  pSync = <usize>p; p = align64(p + SYNC_WORDS * 64);
  pW = <usize>p; p = align16(p + vkf * 4);
  pB = <usize>p; p = align16(p + <u64>v * <u64>k * 4);
  pC = <usize>p; p = align16(p + <u64>f * 4);
  pVW = <usize>p; p = align16(p + vkf * 4);
  pVB = <usize>p; p = align16(p + <u64>v * <u64>k * 4);
  pVC = <usize>p; p = align16(p + <u64>f * 4);
  pLastStep = <usize>p; p = align16(p + <u64>v * 4);
  pTouched = <usize>p; p = align16(p + <u64>v * 4);
  pIsTouched = <usize>p; p = align16(p + <u64>v);
  pPending = <usize>p; p = align16(p + <u64>v);
  pRowStart = <usize>p; p = align16(p + (<u64>rows + 1) * 4);
  pCols = <usize>p; p = align16(p + <u64>nnz * 4);
  pLevels = <usize>p; p = align16(p + <u64>nnz);
  pChain = <usize>p; p = align16(p + (persistent ? <u64>nnz : 0));
  pOrder = <usize>p; p = align16(p + <u64>rows * 4);
  pRatingLevels = <usize>p; p = align16(p + <u64>k * 8);
  maxBatchCases = batchCases;
  maxBatchRatings = batchRatings;
  const bf = <u64>batchCases * <u64>f * 4;
  pSlot = <usize>p; p = align16(p + <u64>v * 4);
  pCaseRow = <usize>p; p = align16(p + <u64>batchCases * 4);
  pCaseDelta = <usize>p; p = align16(p + <u64>batchCases * 4);
  pCaseState = <usize>p; p = align16(p + <u64>batchCases * 16);
  pCaseQueue = <usize>p; p = align16(p + <u64>batchCases * 4);
  // Per-case rows of B × F floats: each case's slot is written by one worker; 64-byte aligned slots
  // would keep two workers off one cache line, but F·4 bytes is a multiple of 64 at the usual F = 100·k.
  pBatchPh0 = <usize>p; p = align64(p + bf);
  pBatchPh = <usize>p; p = align64(p + bf);
  pBatchMask = <usize>p; p = align16(p + bf);
  pGroupStart = <usize>p; p = align16(p + (<u64>batchRatings + 1) * 4);
  pGroupN = <usize>p; p = align16(p + <u64>batchRatings * 4);
  pGroupC = <usize>p; p = align16(p + <u64>batchRatings * 4);
  pBatchDraw = <usize>p; p = align16(p + <u64>batchRatings * 4);
  pBatchNeg = <usize>p; p = align16(p + <u64>batchRatings);
  pBatchQ = <usize>p; p = align16(p + <u64>batchRatings * <u64>k * 4);
  pBatchErr = <usize>p; p = align64(p + <u64>batchRatings * 8);
  // The validation slice (its rows' rated columns; the levels stay in JS) and the predictions of a pass,
  // the rows a pass predicts, and the cases whose hidden features are asked for (features: their ratings
  // and the F probabilities of each). Empty when not used.
  pValRowStart = <usize>p; p = align16(p + (valNnz > 0 ? (<u64>rows + 1) * 4 : 0));
  pValCols = <usize>p; p = align16(p + <u64>valNnz * 4);
  pValOut = <usize>p; p = align16(p + <u64>valNnz * 8);
  pPredRows = <usize>p; p = align16(p + (valNnz > 0 || featureNnz > 0 ? <u64>rows * 4 : 0));
  pFeatRowStart = <usize>p; p = align16(p + (featureNnz > 0 ? (<u64>rows + 1) * 4 : 0));
  pFeatCols = <usize>p; p = align16(p + <u64>featureNnz * 4);
  pFeatLevels = <usize>p; p = align16(p + <u64>featureNnz);
  pFeatOut = <usize>p; p = align64(p + (featureNnz > 0 ? <u64>rows * <u64>f * 4 : 0));
  // Per-worker scratch, each worker's block on cache lines of its own.
  for (let w = 0; w < workers; w++) {
    const mine = w == worker;
    if (mine) pPh0 = <usize>p; p = align16(p + <u64>f * 4);
    if (mine) pPh = <usize>p; p = align16(p + <u64>f * 4);
    if (mine) pSph0 = <usize>p; p = align16(p + <u64>f * 4);
    if (mine) pSph = <usize>p; p = align16(p + <u64>f * 4);
    if (mine) pMask = <usize>p; p = align16(p + <u64>f * 4);
    if (mine) pQv = <usize>p; p = align16(p + <u64>k * 16);
    if (mine) pProbs = <usize>p; p = align16(p + <u64>k * 8);
    if (mine) pNegLevels = <usize>p; p = align16(p + <u64>maxCase);
    if (mine) pNegProbs = <usize>p; p = align16(p + <u64>maxCase * <u64>k * 4);
    if (mine) pPowW = <usize>p; p = align16(p + <u64>powCap * 32);
    if (mine) pPowB = <usize>p; p = align16(p + <u64>powCap * 32);
    if (mine) pPredH = <usize>p; p = align16(p + <u64>f * 4);
    if (mine) pPredX = <usize>p; p = align64(p + <u64>k * 8);
  }
  if (p > 0xFFFF0000) return 0;
  const pages = <i32>((p + 0xFFFF) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return 0;
  step = 0;
  touchedCount = 0;
  return <f64>p;
}

// Pointers for JS to copy into and view (see ../cdEngine.ts).
export function ptrW(): usize { return pW; }
export function ptrB(): usize { return pB; }
export function ptrC(): usize { return pC; }
export function ptrVW(): usize { return pVW; }
export function ptrVB(): usize { return pVB; }
export function ptrVC(): usize { return pVC; }
export function ptrRowStart(): usize { return pRowStart; }
export function ptrCols(): usize { return pCols; }
export function ptrLevels(): usize { return pLevels; }
export function ptrChain(): usize { return pChain; }
export function ptrOrder(): usize { return pOrder; }
export function ptrRatingLevels(): usize { return pRatingLevels; }
export function ptrSync(): usize { return pSync; }
export function ptrValRowStart(): usize { return pValRowStart; }
export function ptrValCols(): usize { return pValCols; }
export function ptrValOut(): usize { return pValOut; }
export function ptrPredRows(): usize { return pPredRows; }
export function ptrFeatRowStart(): usize { return pFeatRowStart; }
export function ptrFeatCols(): usize { return pFeatCols; }
export function ptrFeatLevels(): usize { return pFeatLevels; }
export function ptrFeatOut(): usize { return pFeatOut; }

export function getSquaredError(): f64 { return squaredError; }
export function getErrorCount(): f64 { return errorCount; }
export function resetError(): void {
  squaredError = 0;
  errorCount = 0;
}
export function getStep(): i32 { return step; }

// ---- random numbers: xoshiro128**, exactly as src/rng.ts ----

export function setRng(a: u32, b: u32, c: u32, d: u32): void {
  s0 = a;
  s1 = b;
  s2 = c;
  s3 = d;
}

/** State word i (0–3), for handing the stream back to the JS Rng. */
export function getRng(i: i32): u32 {
  return i == 0 ? s0 : i == 1 ? s1 : i == 2 ? s2 : s3;
}

@inline function nextU32(): u32 {
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u32>(s3, 11);
  return result;
}

/** Uniform in [0, 1): the 32-bit draw over 2^32, as Rng.next. */
@inline function nextUniform(): f64 {
  return <f64>nextU32() / 4294967296.0;
}

// ---- small vector kernels over F floats (SIMD body, scalar tail) ----

@inline function sigmoid(x: f64): f64 {
  return 1.0 / (1.0 + Math.exp(-x));
}

/** dst ← src. */
@inline function copyF(dst: usize, src: usize): void {
  memory.copy(dst, src, <usize>F << 2);
}

/** dst += src. */
function addF(dst: usize, src: usize): void {
  const end4 = dst + (<usize>F4 << 2);
  const end = dst + (<usize>F << 2);
  let d = dst;
  let s = src;
  for (; d < end4; d += 16, s += 16) v128.store(d, f32x4.add(v128.load(d), v128.load(s)));
  for (; d < end; d += 4, s += 4) store<f32>(d, load<f32>(d) + load<f32>(s));
}

/** dst[j] = σ(dst[j]). */
function sigmoidF(dst: usize): void {
  for (let j = 0; j < F; j++) {
    const at = dst + (<usize>j << 2);
    store<f32>(at, <f32>sigmoid(<f64>load<f32>(at)));
  }
}

/** dst = a · src. */
function scaleF(dst: usize, src: usize, a: f32): void {
  const av = f32x4.splat(a);
  const end4 = dst + (<usize>F4 << 2);
  const end = dst + (<usize>F << 2);
  let d = dst;
  let s = src;
  for (; d < end4; d += 16, s += 16) v128.store(d, f32x4.mul(av, v128.load(s)));
  for (; d < end; d += 4, s += 4) store<f32>(d, a * load<f32>(s));
}

/** dst += a · src. */
function axpyF(dst: usize, a: f32, src: usize): void {
  const av = f32x4.splat(a);
  const end4 = dst + (<usize>F4 << 2);
  const end = dst + (<usize>F << 2);
  let d = dst;
  let s = src;
  for (; d < end4; d += 16, s += 16) v128.store(d, f32x4.add(v128.load(d), f32x4.mul(av, v128.load(s))));
  for (; d < end; d += 4, s += 4) store<f32>(d, load<f32>(d) + a * load<f32>(s));
}

/** dst += x + a · y  (the data level's row in the mean-field negative statistics). */
function addAxpyF(dst: usize, x: usize, a: f32, y: usize): void {
  const av = f32x4.splat(a);
  const end4 = dst + (<usize>F4 << 2);
  const end = dst + (<usize>F << 2);
  let d = dst;
  let xs = x;
  let ys = y;
  for (; d < end4; d += 16, xs += 16, ys += 16) {
    v128.store(d, f32x4.add(v128.load(d), f32x4.add(v128.load(xs), f32x4.mul(av, v128.load(ys)))));
  }
  for (; d < end; d += 4, xs += 4, ys += 4) store<f32>(d, load<f32>(d) + (load<f32>(xs) + a * load<f32>(ys)));
}

/** Σ_j h_j row[j] for a binary h given as a lane mask (all ones where h_j = 1): a masked sum, exact products. */
function maskedSumF(row: usize, mask: usize): f32 {
  let acc = f32x4.splat(0);
  const end4 = row + (<usize>F4 << 2);
  const end = row + (<usize>F << 2);
  let r = row;
  let m = mask;
  for (; r < end4; r += 16, m += 16) acc = f32x4.add(acc, v128.and(v128.load(r), v128.load(m)));
  let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; r < end; r += 4, m += 4) if (load<i32>(m) != 0) sum += load<f32>(r);
  return sum;
}

/**
 * The visible inputs x_k = b[i,k] + Σ_j h_j W[i,k,j] of unit i for all K levels into probs (f64), two
 * rows per pass over the mask (each row's sum exactly as maskedSumF's); returns their maximum.
 */
function visibleInputs(i: i32, rowI: usize, mask: usize): f64 {
  const rowBytes = <usize>F << 2;
  const end4 = <usize>F4 << 2;
  const end = <usize>F << 2;
  const bias = pB + (<usize>(i * K) << 2);
  let max = -Infinity;
  let k = 0;
  for (; k + 1 < K; k += 2) {
    const ra = rowI + <usize>k * rowBytes;
    const rb = ra + rowBytes;
    let accA = f32x4.splat(0);
    let accB = f32x4.splat(0);
    let j: usize = 0;
    for (; j < end4; j += 16) {
      const m = v128.load(mask + j);
      accA = f32x4.add(accA, v128.and(v128.load(ra + j), m));
      accB = f32x4.add(accB, v128.and(v128.load(rb + j), m));
    }
    let sa = f32x4.extract_lane(accA, 0) + f32x4.extract_lane(accA, 1) + (f32x4.extract_lane(accA, 2) + f32x4.extract_lane(accA, 3));
    let sb = f32x4.extract_lane(accB, 0) + f32x4.extract_lane(accB, 1) + (f32x4.extract_lane(accB, 2) + f32x4.extract_lane(accB, 3));
    for (; j < end; j += 4) {
      if (load<i32>(mask + j) != 0) {
        sa += load<f32>(ra + j);
        sb += load<f32>(rb + j);
      }
    }
    const xa = <f64>load<f32>(bias + (<usize>k << 2)) + <f64>sa;
    const xb = <f64>load<f32>(bias + (<usize>(k + 1) << 2)) + <f64>sb;
    store<f64>(pProbs + (<usize>k << 3), xa);
    store<f64>(pProbs + (<usize>(k + 1) << 3), xb);
    if (xa > max) max = xa;
    if (xb > max) max = xb;
  }
  if (k < K) {
    const x = <f64>load<f32>(bias + (<usize>k << 2)) + <f64>maskedSumF(rowI + <usize>k * rowBytes, mask);
    store<f64>(pProbs + (<usize>k << 3), x);
    if (x > max) max = x;
  }
  return max;
}

/**
 * ph += Σ_k q_k W[i,k,:] for one visible unit (its K rows from `row`, q_k splatted in qv): each 4-float
 * chunk of ph stays in a register across the K rows.
 */
function addMixedRowsF(ph: usize, row: usize): void {
  const rowBytes = <usize>F << 2;
  let j: usize = 0;
  const end4 = <usize>F4 << 2;
  for (; j < end4; j += 16) {
    let acc = v128.load(ph + j);
    let r = row + j;
    let q = pQv;
    for (let k = 0; k < K; k++, r += rowBytes, q += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(q), v128.load(r)));
    v128.store(ph + j, acc);
  }
  const end = rowBytes;
  for (; j < end; j += 4) {
    let acc = load<f32>(ph + j);
    let r = row + j;
    for (let k = 0; k < K; k++, r += rowBytes) acc += f32x4.extract_lane(v128.load(pQv + (<usize>k << 4)), 0) * load<f32>(r);
    store<f32>(ph + j, acc);
  }
}

// ---- lazy momentum ----

/**
 * Sets ε and μ (after flush: every row up to date) and the fixed weight decay λ. Resets the cache of
 * A^s, A = [[1 − ελ, μ], [−ελ, μ]] for W and [[1, μ], [0, μ]] for the biases (λ = 0).
 */
export function setRates(newLr: f64, newMu: f64, newDecay: f64): void {
  lr = newLr;
  mu = newMu;
  decay = newDecay;
  store<f64>(pPowW, 1); store<f64>(pPowW, 0, 8); store<f64>(pPowW, 0, 16); store<f64>(pPowW, 1, 24);
  store<f64>(pPowB, 1); store<f64>(pPowB, 0, 8); store<f64>(pPowB, 0, 16); store<f64>(pPowB, 1, 24);
  powLen = 1;
}

/** Extends both power caches to hold A^s (s < powCap), each entry A · (the previous), in float64. */
function ensurePowers(s: i32): void {
  const a0 = 1 - lr * decay;
  const a2 = -lr * decay;
  while (powLen <= s) {
    const m = pPowW + (<usize>(powLen - 1) << 5);
    const o = m + 32;
    const m0 = load<f64>(m), m1 = load<f64>(m, 8), m2 = load<f64>(m, 16), m3 = load<f64>(m, 24);
    store<f64>(o, a0 * m0 + mu * m2);
    store<f64>(o, a0 * m1 + mu * m3, 8);
    store<f64>(o, a2 * m0 + mu * m2, 16);
    store<f64>(o, a2 * m1 + mu * m3, 24);
    const mb = pPowB + (<usize>(powLen - 1) << 5);
    const ob = mb + 32;
    const b0 = load<f64>(mb), b1 = load<f64>(mb, 8), b2 = load<f64>(mb, 16), b3 = load<f64>(mb, 24);
    store<f64>(ob, b0 + mu * b2);
    store<f64>(ob, b1 + mu * b3, 8);
    store<f64>(ob, mu * b2, 16);
    store<f64>(ob, mu * b3, 24);
    powLen++;
  }
}

// Scratch for the power of the current catch-up: W's and b's 2×2 matrices.
let cw0: f64 = 1, cw1: f64 = 0, cw2: f64 = 0, cw3: f64 = 1;
let cb0: f64 = 1, cb1: f64 = 0, cb2: f64 = 0, cb3: f64 = 1;

/** Loads A^s (W and bias versions) into cw*, cb*; powers beyond the cache by repeated multiplication. */
function loadPower(s: i32): void {
  if (s < powCap) {
    ensurePowers(s);
    const m = pPowW + (<usize>s << 5);
    cw0 = load<f64>(m); cw1 = load<f64>(m, 8); cw2 = load<f64>(m, 16); cw3 = load<f64>(m, 24);
    const mb = pPowB + (<usize>s << 5);
    cb0 = load<f64>(mb); cb1 = load<f64>(mb, 8); cb2 = load<f64>(mb, 16); cb3 = load<f64>(mb, 24);
    return;
  }
  // Only reachable through the fine-grained API with more than maxGap updates between flushes.
  loadPower(powCap - 1);
  const a0 = 1 - lr * decay;
  const a2 = -lr * decay;
  for (let t = powCap - 1; t < s; t++) {
    const n0 = a0 * cw0 + mu * cw2, n1 = a0 * cw1 + mu * cw3, n2 = a2 * cw0 + mu * cw2, n3 = a2 * cw1 + mu * cw3;
    cw0 = n0; cw1 = n1; cw2 = n2; cw3 = n3;
    const e0 = cb0 + mu * cb2, e1 = cb1 + mu * cb3, e2 = mu * cb2, e3 = mu * cb3;
    cb0 = e0; cb1 = e1; cb2 = e2; cb3 = e3;
  }
}

/**
 * [W; v] ← [[m0, m1], [m2, m3]] · [W; v] elementwise over n floats from w and v. With the catch-up power
 * A^s this applies s gradient-free steps exactly (up to rounding); see prepareCase for the fused form.
 */
function transform2(w: usize, v: usize, n: i32, m0: f64, m1: f64, m2: f64, m3: f64): void {
  const a = f32x4.splat(<f32>m0), b = f32x4.splat(<f32>m1), c = f32x4.splat(<f32>m2), d = f32x4.splat(<f32>m3);
  const n4 = n & ~3;
  let j: usize = 0;
  const end4 = <usize>n4 << 2;
  for (; j < end4; j += 16) {
    const x = v128.load(w + j);
    const y = v128.load(v + j);
    v128.store(w + j, f32x4.add(f32x4.mul(a, x), f32x4.mul(b, y)));
    v128.store(v + j, f32x4.add(f32x4.mul(c, x), f32x4.mul(d, y)));
  }
  const end = <usize>n << 2;
  for (; j < end; j += 4) {
    const x = <f64>load<f32>(w + j);
    const y = <f64>load<f32>(v + j);
    store<f32>(w + j, <f32>(m0 * x + m1 * y));
    store<f32>(v + j, <f32>(m2 * x + m3 * y));
  }
}

/**
 * Loads into cw*, cb* the map from row i's stored [W; v] to its true state at the current step:
 *   M = A^s · P^pending,  P = [[1, 1], [0, 1]]  (a pending row's true W is W + v),
 * s = the updates it missed since. A^s · P = [[m0, m0 + m1], [m2, m2 + m3]].
 */
function loadRowMap(i: i32): void {
  const s = step - load<i32>(pLastStep + (<usize>i << 2));
  loadPower(s > 0 ? s : 0);
  if (load<u8>(pPending + <usize>i) != 0) {
    cw1 += cw0;
    cw3 += cw2;
    cb1 += cb0;
    cb3 += cb2;
  }
}

/** Brings row i up to the current step (the gradient-free recurrence for the steps it missed). */
function catchUp(i: i32): void {
  if (step == load<i32>(pLastStep + (<usize>i << 2)) && load<u8>(pPending + <usize>i) == 0) return;
  loadRowMap(i);
  const kf = K * F;
  transform2(pW + (<usize>(i * kf) << 2), pVW + (<usize>(i * kf) << 2), kf, cw0, cw1, cw2, cw3);
  transform2(pB + (<usize>(i * K) << 2), pVB + (<usize>(i * K) << 2), K, cb0, cb1, cb2, cb3);
  store<i32>(pLastStep + (<usize>i << 2), step);
  store<u8>(pPending + <usize>i, 0);
}

/**
 * Starts a mini-batch of B cases: fixes the gradient scale ε/B and applies the gradient-free half of this
 * step's update to c's velocity, vc ← μ vc (c is read by every case, and λ = 0 for biases).
 */
export function beginBatch(batchSize: i32): void {
  scale = <f32>(lr / <f64>batchSize);
  const m = <f32>mu;
  for (let j = 0; j < F; j++) {
    const at = pVC + (<usize>j << 2);
    store<f32>(at, m * load<f32>(at));
  }
}

/**
 * Before case r reads its rows: brings each rated row up to date and, on its first touch in this batch,
 * applies the gradient-free half of this step's update. Catch-up and that half-step are one linear map:
 *   [W; v] ← [[1, 0], [−ελ, μ]] · A^s · P^pending · [W; v]
 * (and λ = 0 for the row's biases), done in one pass over the row. A row already touched in this batch
 * is up to date (and W is not changed until the batch ends).
 */
export function prepareCase(r: i32): void {
  const start = load<i32>(pRowStart + (<usize>r << 2));
  const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
  for (let n = start; n < end; n++) {
    const i = load<i32>(pCols + (<usize>n << 2));
    if (load<u8>(pIsTouched + <usize>i) != 0) continue;
    store<u8>(pIsTouched + <usize>i, 1);
    store<i32>(pTouched + (<usize>touchedCount << 2), i);
    touchedCount++;
    prepareRow(i);
  }
}

/** The map of prepareCase applied to row i (W, v and the biases), which is then up to date. */
function prepareRow(i: i32): void {
  const kf = K * F;
  loadRowMap(i);
  const el = lr * decay;
  transform2(pW + (<usize>(i * kf) << 2), pVW + (<usize>(i * kf) << 2), kf,
    cw0, cw1, mu * cw2 - el * cw0, mu * cw3 - el * cw1);
  transform2(pB + (<usize>(i * K) << 2), pVB + (<usize>(i * K) << 2), K,
    cb0, cb1, mu * cb2, mu * cb3);
  store<i32>(pLastStep + (<usize>i << 2), step);
  store<u8>(pPending + <usize>i, 0);
}

/**
 * Ends the batch: W ← W + v on the touched rows, deferred (the rows become pending, see loadRowMap);
 * c ← c + vc now; the step count advances.
 */
export function applyBatch(): void {
  for (let t = 0; t < touchedCount; t++) {
    const i = load<i32>(pTouched + (<usize>t << 2));
    store<u8>(pPending + <usize>i, 1);
    store<i32>(pLastStep + (<usize>i << 2), step + 1);
    store<u8>(pIsTouched + <usize>i, 0);
  }
  touchedCount = 0;
  addRows(pC, pVC, F);
  step++;
}

/** dst += src over n floats. */
function addRows(dst: usize, src: usize, n: i32): void {
  const end4 = dst + (<usize>(n & ~3) << 2);
  const end = dst + (<usize>n << 2);
  let d = dst;
  let s = src;
  for (; d < end4; d += 16, s += 16) v128.store(d, f32x4.add(v128.load(d), v128.load(s)));
  for (; d < end; d += 4, s += 4) store<f32>(d, load<f32>(d) + load<f32>(s));
}

/** Brings every row up to date (before W is read from outside, or the rates change). */
export function flush(): void {
  for (let i = 0; i < V; i++) catchUp(i);
}

// ---- the CD statistics of one case ----

/**
 * Adds ε/B times the CD-T gradient of case r to the velocities (see ../kernels.ts accumulateCase for the
 * statistics and their order of random draws, which this follows exactly):
 *   ΔvW[i,k,:] += (ε/B)(v_ik^data ph0 − v_ik^T ph_T),  Δvb[i,k] += (ε/B)(v_ik^data − v_ik^T),
 *   Δvc += (ε/B)(ph0 − ph_T),
 * with ph0 = p(h | data); the chain: h ~ Bernoulli(ph), v_i ~ softmax_k(b[i,k] + Σ_j h_j W[i,k,j]) over
 * the rated units, ph = σ(c + Σ_i W[i, v_i, :]), T times, the last with the mean field
 * ph = σ(c + Σ_i Σ_k p(v_i = k) W[i,k,:]) and v_ik^T = p(v_i = k) when meanField.
 */
export function accumulateCase(r: i32, steps: i32, meanField: bool): void {
  const start = load<i32>(pRowStart + (<usize>r << 2));
  const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
  if (end == start) return;
  const rowBytes = <usize>F << 2;
  const kf = K * F;

  // Positive phase: ph0 = σ(c + Σ_i W[i, r_i, :]).
  copyF(pPh0, pC);
  for (let n = start; n < end; n++) {
    const i = load<i32>(pCols + (<usize>n << 2));
    const lv = <i32>load<u8>(pLevels + <usize>n);
    addF(pPh0, pW + (<usize>(i * kf + lv * F) << 2));
  }
  sigmoidF(pPh0);

  // Chain start: the data (CD) or the persistent chain's last state (PCD).
  if (!PERSISTENT) {
    copyF(pPh, pPh0);
  } else {
    copyF(pPh, pC);
    for (let n = start; n < end; n++) {
      const i = load<i32>(pCols + (<usize>n << 2));
      const lv = <i32>load<u8>(pChain + <usize>n);
      addF(pPh, pW + (<usize>(i * kf + lv * F) << 2));
    }
    sigmoidF(pPh);
  }

  for (let t = 0; t < steps; t++) {
    // h ~ Bernoulli(ph), one draw per hidden unit in order, kept as a lane mask.
    for (let j = 0; j < F; j++) {
      const on = nextUniform() < <f64>load<f32>(pPh + (<usize>j << 2));
      store<i32>(pMask + (<usize>j << 2), on ? -1 : 0);
    }
    // The next hidden input is summed in the same pass as the reconstruction, while unit i's K rows are
    // in L1 (the mask keeps h, so ph can be reset now):
    //   ph = c + Σ_i W[i, v_i, :], or on the last step with mean field c + Σ_i Σ_k p(v_i = k) W[i,k,:].
    const meanFieldNow = meanField && t == steps - 1;
    copyF(pPh, pC);
    // v_i ~ softmax_k(b[i,k] + Σ_j h_j W[i,k,j]), one draw per rated unit in order.
    for (let n = start; n < end; n++) {
      const i = load<i32>(pCols + (<usize>n << 2));
      const rowI = pW + (<usize>(i * kf) << 2);
      const max = visibleInputs(i, rowI, pMask);
      let sum: f64 = 0;
      for (let k = 0; k < K; k++) {
        const at = pProbs + (<usize>k << 3);
        const e = Math.exp(load<f64>(at) - max);
        store<f64>(at, e);
        sum += e;
      }
      if (t == 0) {
        // Reconstruction error of the first step: the epoch's "train RMSE".
        let e: f64 = 0;
        for (let k = 0; k < K; k++) e += (load<f64>(pProbs + (<usize>k << 3)) / sum) * load<f64>(pRatingLevels + (<usize>k << 3));
        const d = e - load<f64>(pRatingLevels + (<usize>load<u8>(pLevels + <usize>n) << 3));
        squaredError += d * d;
        errorCount += 1;
      }
      if (meanFieldNow) {
        const at = pNegProbs + (<usize>((n - start) * K) << 2);
        for (let k = 0; k < K; k++) {
          const q = <f32>(load<f64>(pProbs + (<usize>k << 3)) / sum);
          store<f32>(at + (<usize>k << 2), q);
          v128.store(pQv + (<usize>k << 4), f32x4.splat(q));
        }
      }
      let u = nextUniform() * sum;
      let k = 0;
      while (k < K - 1 && u >= load<f64>(pProbs + (<usize>k << 3))) {
        u -= load<f64>(pProbs + (<usize>k << 3));
        k++;
      }
      store<u8>(pNegLevels + <usize>(n - start), <u8>k);
      if (meanFieldNow) addMixedRowsF(pPh, rowI);
      else addF(pPh, rowI + <usize>k * rowBytes);
    }
    sigmoidF(pPh);
  }

  // Statistics into the velocities, scaled by ε/B once: sph0 = (ε/B) ph0, sph = (ε/B) ph.
  const s = scale;
  scaleF(pSph0, pPh0, s);
  scaleF(pSph, pPh, s);
  for (let j = 0; j < F; j++) {
    const at = pVC + (<usize>j << 2);
    store<f32>(at, load<f32>(at) + (load<f32>(pSph0 + (<usize>j << 2)) - load<f32>(pSph + (<usize>j << 2))));
  }
  if (meanField) {
    // <v_ik h_j>_T = p(v_i = k) ph_j: vW[i,k,:] += [k = r_i] sph0 − p(v_i = k) sph.
    for (let n = start; n < end; n++) {
      const i = load<i32>(pCols + (<usize>n << 2));
      const lv = <i32>load<u8>(pLevels + <usize>n);
      const at = pNegProbs + (<usize>((n - start) * K) << 2);
      const vrow = pVW + (<usize>(i * kf) << 2);
      for (let k = 0; k < K; k++) {
        const q = load<f32>(at + (<usize>k << 2));
        const vbAt = pVB + (<usize>(i * K + k) << 2);
        if (k == lv) {
          addAxpyF(vrow + <usize>k * rowBytes, pSph0, -q, pSph);
          store<f32>(vbAt, load<f32>(vbAt) + (s - s * q));
        } else {
          axpyF(vrow + <usize>k * rowBytes, -q, pSph);
          store<f32>(vbAt, load<f32>(vbAt) - s * q);
        }
      }
      if (PERSISTENT) store<u8>(pChain + <usize>n, load<u8>(pNegLevels + <usize>(n - start)));
    }
    return;
  }
  // Sampled: vW[i, r_i, :] += sph0;  vW[i, v_i^T, :] −= sph.
  for (let n = start; n < end; n++) {
    const i = load<i32>(pCols + (<usize>n << 2));
    const lv = <i32>load<u8>(pLevels + <usize>n);
    const neg = <i32>load<u8>(pNegLevels + <usize>(n - start));
    const vrow = pVW + (<usize>(i * kf) << 2);
    addF(vrow + <usize>lv * rowBytes, pSph0);
    axpyF(vrow + <usize>neg * rowBytes, -1, pSph);
    const vbPos = pVB + (<usize>(i * K + lv) << 2);
    store<f32>(vbPos, load<f32>(vbPos) + s);
    const vbNeg = pVB + (<usize>(i * K + neg) << 2);
    store<f32>(vbNeg, load<f32>(vbNeg) - s);
    if (PERSISTENT) store<u8>(pChain + <usize>n, <u8>neg);
  }
}

// ---- the batch processed row-major ----

/** dst += the row map's W part applied to n floats, [m0, m1] · [w; v], rounded as transform2 rounds. */
function addMappedF(dst: usize, w: usize, v: usize, m0: f64, m1: f64): void {
  const a = f32x4.splat(<f32>m0), b = f32x4.splat(<f32>m1);
  const end4 = <usize>F4 << 2;
  const end = <usize>F << 2;
  let j: usize = 0;
  for (; j < end4; j += 16) {
    const x = f32x4.add(f32x4.mul(a, v128.load(w + j)), f32x4.mul(b, v128.load(v + j)));
    v128.store(dst + j, f32x4.add(v128.load(dst + j), x));
  }
  for (; j < end; j += 4) {
    const x = <f32>(m0 * <f64>load<f32>(w + j) + m1 * <f64>load<f32>(v + j));
    store<f32>(dst + j, load<f32>(dst + j) + x);
  }
}

/**
 * dst += W[i, k, :] as it will be once row i is prepared for this batch (prepareRow), read before the row
 * is: the row's map is linear, so the one K-slice needed is computed from the stored W and v.
 */
function addPreparedSliceF(dst: usize, i: i32, k: i32): void {
  const at = <usize>((i * K + k) * F) << 2;
  if (step == load<i32>(pLastStep + (<usize>i << 2)) && load<u8>(pPending + <usize>i) == 0) {
    addF(dst, pW + at);
    return;
  }
  loadRowMap(i);
  addMappedF(dst, pW + at, pVW + at, cw0, cw1);
}

/**
 * addPreparedSliceF rounded exactly as prepareRow's transform2 rounds each element of the row, whatever F:
 * transform2 computes the row's first (K·F & ~3) floats in f32 (the SIMD body: f32(m0)·w + f32(m1)·v) and
 * the rest in f64, while addMappedF splits each K-slice at F4 instead. Equal when F is a multiple of 4 (the
 * defaults); phase P of parallelEpoch, which must equal the case-by-case path bit for bit, uses this one.
 */
function addPreparedSliceExactF(dst: usize, i: i32, k: i32): void {
  const at = <usize>((i * K + k) * F) << 2;
  if (step == load<i32>(pLastStep + (<usize>i << 2)) && load<u8>(pPending + <usize>i) == 0) {
    addF(dst, pW + at);
    return;
  }
  loadRowMap(i);
  if ((F & 3) == 0) {
    addMappedF(dst, pW + at, pVW + at, cw0, cw1);
    return;
  }
  const w = pW + at;
  const v = pVW + at;
  const a = <f32>cw0;
  const b = <f32>cw1;
  // Elements of this slice inside the row's f32 body.
  const body = min(F, max(0, ((K * F) & ~3) - k * F));
  for (let j = 0; j < F; j++) {
    const o = <usize>j << 2;
    const x = j < body
      ? a * load<f32>(w + o) + b * load<f32>(v + o)
      : <f32>(cw0 * <f64>load<f32>(w + o) + cw1 * <f64>load<f32>(v + o));
    store<f32>(dst + o, load<f32>(dst + o) + x);
  }
}

/** Draws the hidden sample of case slot c for one Gibbs step (F draws) as a lane mask, from its ph. */
function sampleHidden(c: i32): void {
  const ph = pBatchPh + (<usize>(c * F) << 2);
  const mask = pBatchMask + (<usize>(c * F) << 2);
  for (let j = 0; j < F; j++) {
    const on = nextUniform() < <f64>load<f32>(ph + (<usize>j << 2));
    store<i32>(mask + (<usize>j << 2), on ? -1 : 0);
  }
}

/**
 * Step 1 of trainBatch (and the lead's part of each parallelEpoch batch): the touched rows of the cases
 * order[at..stop) in ascending order in touched[0..touchedCount) (each marked in isTouched), each case's
 * row and offset (caseRow, caseDelta: its ratings sit at n + delta in the per-rating batch buffers), and
 * the batch's ratings grouped by row (groupStart/N/C; within a row in case order). Returns the count of
 * touched rows.
 */
function groupBatch(at: i32, stop: i32): i32 {
  const B = stop - at;
  // 1. Touched rows and their rating counts, then the ratings grouped by row.
  let nb = 0;
  for (let c = 0; c < B; c++) {
    const r = load<i32>(pOrder + (<usize>(at + c) << 2));
    const start = load<i32>(pRowStart + (<usize>r << 2));
    const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
    store<i32>(pCaseRow + (<usize>c << 2), r);
    store<i32>(pCaseDelta + (<usize>c << 2), nb - start);
    nb += end - start;
    for (let n = start; n < end; n++) {
      const i = load<i32>(pCols + (<usize>n << 2));
      if (load<u8>(pIsTouched + <usize>i) == 0) {
        store<u8>(pIsTouched + <usize>i, 1);
        store<i32>(pSlot + (<usize>i << 2), touchedCount);
        store<i32>(pTouched + (<usize>touchedCount << 2), i);
        store<i32>(pGroupStart + (<usize>touchedCount << 2), 0);
        touchedCount++;
      }
      const g = pGroupStart + (<usize>load<i32>(pSlot + (<usize>i << 2)) << 2);
      store<i32>(g, load<i32>(g) + 1);
    }
  }
  const rowsTouched = touchedCount;
  if (SORT_ROWS) {
    // The touched rows in ascending order (memory order): the counts aside in groupN, then a scan of
    // isTouched, eight flags at a time.
    for (let t = 0; t < rowsTouched; t++) store<i32>(pGroupN + (<usize>t << 2), load<i32>(pGroupStart + (<usize>t << 2)));
    let t = 0;
    for (let i0 = 0; i0 < V; i0 += 8) {
      if (load<u64>(pIsTouched + <usize>i0) == 0) continue;
      const iEnd = min(V, i0 + 8);
      for (let i = i0; i < iEnd; i++) {
        if (load<u8>(pIsTouched + <usize>i) == 0) continue;
        const slotAt = pSlot + (<usize>i << 2);
        store<i32>(pGroupStart + (<usize>t << 2), load<i32>(pGroupN + (<usize>load<i32>(slotAt) << 2)));
        store<i32>(pTouched + (<usize>t << 2), i);
        store<i32>(slotAt, t);
        t++;
      }
    }
  }
  let sum = 0;
  for (let s = 0; s < rowsTouched; s++) {
    const g = pGroupStart + (<usize>s << 2);
    const count = load<i32>(g);
    store<i32>(g, sum);
    sum += count;
  }
  for (let c = 0; c < B; c++) {
    const r = load<i32>(pCaseRow + (<usize>c << 2));
    const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
    for (let n = load<i32>(pRowStart + (<usize>r << 2)); n < end; n++) {
      const g = pGroupStart + (<usize>load<i32>(pSlot + (<usize>load<i32>(pCols + (<usize>n << 2)) << 2)) << 2);
      const pos = load<i32>(g);
      store<i32>(g, pos + 1);
      store<i32>(pGroupN + (<usize>pos << 2), n);
      store<i32>(pGroupC + (<usize>pos << 2), c);
    }
  }
  // Each group's cursor now stands at its end, the next group's start: shift back by one.
  for (let s = rowsTouched; s > 0; s--) store<i32>(pGroupStart + (<usize>s << 2), load<i32>(pGroupStart + (<usize>(s - 1) << 2)));
  store<i32>(pGroupStart, 0);

  return rowsTouched;
}

/**
 * Step 4 of trainBatch for the touched row of slot s: its ratings' terms, from each case's scaled hidden
 * statistics (sph0 = (ε/B) ph0, sph = (ε/B) ph in batchPh0/batchPh), into vW and vb, in case order:
 *   vW[i,k,:] += [k = r_i] sph0 − q_k sph,  vb[i,k] += (ε/B)([k = r_i] − q_k)
 * with q_k = p(v_i = k) on a mean-field last step, else the one-hot sampled level.
 */
function rowGradient(s: i32, meanField: bool): void {
  const rowBytes = <usize>F << 2;
  const sc = scale;
  const i = load<i32>(pTouched + (<usize>s << 2));
  const vrow = pVW + (<usize>(i * K * F) << 2);
  const gEnd = load<i32>(pGroupStart + (<usize>(s + 1) << 2));
  for (let g = load<i32>(pGroupStart + (<usize>s << 2)); g < gEnd; g++) {
    const n = load<i32>(pGroupN + (<usize>g << 2));
    const c = load<i32>(pGroupC + (<usize>g << 2));
    const pos = n + load<i32>(pCaseDelta + (<usize>c << 2));
    const sph0 = pBatchPh0 + (<usize>(c * F) << 2);
    const sph = pBatchPh + (<usize>(c * F) << 2);
    const lv = <i32>load<u8>(pLevels + <usize>n);
    const neg = <i32>load<u8>(pBatchNeg + <usize>pos);
    if (meanField) {
      const qAt = pBatchQ + (<usize>(pos * K) << 2);
      for (let k = 0; k < K; k++) {
        const q = load<f32>(qAt + (<usize>k << 2));
        const vbAt = pVB + (<usize>(i * K + k) << 2);
        if (k == lv) {
          addAxpyF(vrow + <usize>k * rowBytes, sph0, -q, sph);
          store<f32>(vbAt, load<f32>(vbAt) + (sc - sc * q));
        } else {
          axpyF(vrow + <usize>k * rowBytes, -q, sph);
          store<f32>(vbAt, load<f32>(vbAt) - sc * q);
        }
      }
    } else {
      addF(vrow + <usize>lv * rowBytes, sph0);
      axpyF(vrow + <usize>neg * rowBytes, -1, sph);
      const vbPos = pVB + (<usize>(i * K + lv) << 2);
      store<f32>(vbPos, load<f32>(vbPos) + sc);
      const vbNeg = pVB + (<usize>(i * K + neg) << 2);
      store<f32>(vbNeg, load<f32>(vbNeg) - sc);
    }
    if (PERSISTENT) store<u8>(pChain + <usize>n, <u8>neg);
  }
}

/**
 * One mini-batch of the cases order[at..stop), with exactly the update of beginBatch, then prepareCase and
 * accumulateCase per case, then applyBatch (and the same random draws, in the same order), but with the
 * work on the visible rows done row by row instead of case by case, so that each row the batch touches is
 * brought from memory once per pass instead of once per rating:
 *
 *   1. The touched rows, in order of first touch, and the batch's ratings grouped by row (counting sort;
 *      within a row in case order).
 *   2. Positive phase, case by case: ph0 = σ(c + Σ_i W[i, r_i, :]) with each slice read as it will be
 *      after the row's catch-up (addPreparedSliceF), so no row is written yet. PCD chain start likewise.
 *   3. Each Gibbs step t: every case draws its hidden sample (F draws) and then the n_c draws of its
 *      visible samples, which are kept by rating: the stream is consumed case by case, as per case. Then
 *      row by row (on step 0 the row is first prepared: catch-up and half-step, one pass, and is then in
 *      L1 for all of the row's ratings): each rating's softmax from its case's hidden mask, the sample, the
 *      reconstruction error (t = 0), the mean-field probabilities (last step), and the case's next hidden
 *      input accumulated (per-case accumulators: B × F floats, in cache). Then σ per case.
 *      With T > 1 the draws of step t of a case are not next to each other in the stream (case c's T
 *      steps come before case c + 1's): each case's stream position is found first by skipping the
 *      counts of draws of the cases before it, and kept per case between steps.
 *   4. vc per case; then row by row, the ratings' gradient into vW and vb. A row receives its ratings'
 *      terms in case order, as per case, so the velocity sums are in the same order; only the hidden
 *      inputs of step 3 are summed in another order (row order), so results agree to float rounding.
 * A case must occur at most once in a batch (a PCD chain is read in 2 and written in 4).
 */
function trainBatch(at: i32, stop: i32, steps: i32, meanField: bool): void {
  const B = stop - at;
  beginBatch(B);
  const rowBytes = <usize>F << 2;
  const kf = K * F;
  const rowsTouched = groupBatch(at, stop);

  // 2. Positive phase (and the PCD chain's start), rows read as they will be once prepared.
  for (let c = 0; c < B; c++) {
    const r = load<i32>(pCaseRow + (<usize>c << 2));
    const start = load<i32>(pRowStart + (<usize>r << 2));
    const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
    if (end == start) continue;
    const ph0 = pBatchPh0 + (<usize>(c * F) << 2);
    const ph = pBatchPh + (<usize>(c * F) << 2);
    copyF(ph0, pC);
    for (let n = start; n < end; n++) {
      addPreparedSliceF(ph0, load<i32>(pCols + (<usize>n << 2)), <i32>load<u8>(pLevels + <usize>n));
    }
    sigmoidF(ph0);
    if (!PERSISTENT) {
      copyF(ph, ph0);
    } else {
      copyF(ph, pC);
      for (let n = start; n < end; n++) {
        addPreparedSliceF(ph, load<i32>(pCols + (<usize>n << 2)), <i32>load<u8>(pChain + <usize>n));
      }
      sigmoidF(ph);
    }
  }

  // With T > 1, where each case's draws start: skip the draws of the cases before it.
  const skip = steps > 1;
  if (skip) {
    for (let c = 0; c < B; c++) {
      const r = load<i32>(pCaseRow + (<usize>c << 2));
      const count = load<i32>(pRowStart + (<usize>(r + 1) << 2)) - load<i32>(pRowStart + (<usize>r << 2));
      const st = pCaseState + (<usize>c << 4);
      store<u32>(st, s0); store<u32>(st, s1, 4); store<u32>(st, s2, 8); store<u32>(st, s3, 12);
      if (count == 0) continue;
      for (let d = steps * (F + count); d > 0; d--) nextU32();
    }
  }
  const e0 = s0, e1 = s1, e2 = s2, e3 = s3;

  // 3. The Gibbs steps.
  for (let t = 0; t < steps; t++) {
    const meanFieldNow = meanField && t == steps - 1;
    for (let c = 0; c < B; c++) {
      const r = load<i32>(pCaseRow + (<usize>c << 2));
      const start = load<i32>(pRowStart + (<usize>r << 2));
      const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
      if (end == start) continue;
      const st = pCaseState + (<usize>c << 4);
      if (skip) setRng(load<u32>(st), load<u32>(st, 4), load<u32>(st, 8), load<u32>(st, 12));
      sampleHidden(c);
      const delta = load<i32>(pCaseDelta + (<usize>c << 2));
      for (let n = start; n < end; n++) store<u32>(pBatchDraw + (<usize>(n + delta) << 2), nextU32());
      if (skip) {
        store<u32>(st, s0); store<u32>(st, s1, 4); store<u32>(st, s2, 8); store<u32>(st, s3, 12);
      }
      // The mask keeps h, so ph can be reset to c and accumulate the next hidden input.
      copyF(pBatchPh + (<usize>(c * F) << 2), pC);
    }
    // Even steps forwards, odd steps backwards: each pass starts with the rows the last one ended with,
    // which are still in cache.
    for (let q = 0; q < rowsTouched; q++) {
      const s = (t & 1) == 0 ? q : rowsTouched - 1 - q;
      const i = load<i32>(pTouched + (<usize>s << 2));
      if (t == 0) prepareRow(i);
      const rowI = pW + (<usize>(i * kf) << 2);
      const gEnd = load<i32>(pGroupStart + (<usize>(s + 1) << 2));
      for (let g = load<i32>(pGroupStart + (<usize>s << 2)); g < gEnd; g++) {
        const n = load<i32>(pGroupN + (<usize>g << 2));
        const c = load<i32>(pGroupC + (<usize>g << 2));
        const pos = n + load<i32>(pCaseDelta + (<usize>c << 2));
        const mask = pBatchMask + (<usize>(c * F) << 2);
        const max = visibleInputs(i, rowI, mask);
        let total: f64 = 0;
        for (let k = 0; k < K; k++) {
          const a = pProbs + (<usize>k << 3);
          const e = Math.exp(load<f64>(a) - max);
          store<f64>(a, e);
          total += e;
        }
        if (t == 0) {
          let e: f64 = 0;
          for (let k = 0; k < K; k++) e += (load<f64>(pProbs + (<usize>k << 3)) / total) * load<f64>(pRatingLevels + (<usize>k << 3));
          const d = e - load<f64>(pRatingLevels + (<usize>load<u8>(pLevels + <usize>n) << 3));
          squaredError += d * d;
          errorCount += 1;
        }
        if (meanFieldNow) {
          const qAt = pBatchQ + (<usize>(pos * K) << 2);
          for (let k = 0; k < K; k++) {
            const q = <f32>(load<f64>(pProbs + (<usize>k << 3)) / total);
            store<f32>(qAt + (<usize>k << 2), q);
            v128.store(pQv + (<usize>k << 4), f32x4.splat(q));
          }
        }
        let u = <f64>load<u32>(pBatchDraw + (<usize>pos << 2)) / 4294967296.0 * total;
        let k = 0;
        while (k < K - 1 && u >= load<f64>(pProbs + (<usize>k << 3))) {
          u -= load<f64>(pProbs + (<usize>k << 3));
          k++;
        }
        store<u8>(pBatchNeg + <usize>pos, <u8>k);
        const ph = pBatchPh + (<usize>(c * F) << 2);
        if (meanFieldNow) addMixedRowsF(ph, rowI);
        else addF(ph, rowI + <usize>k * rowBytes);
      }
    }
    for (let c = 0; c < B; c++) {
      const r = load<i32>(pCaseRow + (<usize>c << 2));
      if (load<i32>(pRowStart + (<usize>(r + 1) << 2)) == load<i32>(pRowStart + (<usize>r << 2))) continue;
      sigmoidF(pBatchPh + (<usize>(c * F) << 2));
    }
  }
  if (skip) setRng(e0, e1, e2, e3);

  // 4. The statistics into the velocities, scaled by ε/B once: per case sph0 = (ε/B) ph0, sph = (ε/B) ph.
  const sc = scale;
  for (let c = 0; c < B; c++) {
    const r = load<i32>(pCaseRow + (<usize>c << 2));
    if (load<i32>(pRowStart + (<usize>(r + 1) << 2)) == load<i32>(pRowStart + (<usize>r << 2))) continue;
    const sph0 = pBatchPh0 + (<usize>(c * F) << 2);
    const sph = pBatchPh + (<usize>(c * F) << 2);
    scaleF(sph0, sph0, sc);
    scaleF(sph, sph, sc);
    for (let j = 0; j < F; j++) {
      const a = pVC + (<usize>j << 2);
      store<f32>(a, load<f32>(a) + (load<f32>(sph0 + (<usize>j << 2)) - load<f32>(sph + (<usize>j << 2))));
    }
  }
  // The other way from the last step's pass (see there).
  for (let q = 0; q < rowsTouched; q++) rowGradient(((steps - 1) & 1) == 0 ? rowsTouched - 1 - q : q, meanField);
  applyBatch();
}

/**
 * The most Gibbs steps for which trainEpoch runs a batch row by row. Measured at 25M scale (bench-cd),
 * row by row is on par (user RBM) or ~6% faster (item RBM) at T = 1, but 2–6% slower at T = 3: each
 * further step is another pass over all the batch's rows, while case by case a case's rows stay in L2
 * across its T steps. So T > 1 goes case by case; tests raise this to check trainBatch's T > 1 path.
 */
let rowWiseMaxSteps: i32 = 1;
export function setRowWiseMaxSteps(steps: i32): void {
  rowWiseMaxSteps = steps;
}

/**
 * One epoch: the cases order[0..count) in mini-batches of batchSize, one update per batch (trainBatch,
 * or case by case for T > rowWiseMaxSteps or a batch larger than the batch buffers); then every row is
 * brought up to date.
 */
export function trainEpoch(count: i32, batchSize: i32, steps: i32, meanField: bool): void {
  for (let at = 0; at < count; at += batchSize) {
    const stop = min(count, at + batchSize);
    if (steps <= rowWiseMaxSteps && stop - at <= maxBatchCases && batchRatings(at, stop) <= maxBatchRatings) {
      trainBatch(at, stop, steps, meanField);
      continue;
    }
    beginBatch(stop - at);
    for (let q = at; q < stop; q++) {
      const r = load<i32>(pOrder + (<usize>q << 2));
      prepareCase(r);
      accumulateCase(r, steps, meanField);
    }
    applyBatch();
  }
  flush();
}

/** Ratings of the cases order[at..stop). */
function batchRatings(at: i32, stop: i32): i32 {
  let n = 0;
  for (let q = at; q < stop; q++) {
    const r = load<i32>(pOrder + (<usize>q << 2));
    n += load<i32>(pRowStart + (<usize>(r + 1) << 2)) - load<i32>(pRowStart + (<usize>r << 2));
  }
  return n;
}

// ---- one epoch on several threads (data-parallel over each mini-batch) ----
//
// `WORKERS` instances of this module, one per thread, share one memory (built with an imported shared
// memory) and all call parallelEpoch with the same arguments. Each mini-batch is one synchronous update,
// computed in four phases separated by barriers:
//
//   L  the lead (worker 0) alone: groupBatch (touched rows, ratings grouped by row), each case's position
//      in the random stream (the count of draws before it, as trainBatch's skip), vc ← μ vc, the queue
//      of the batch's cases longest first. O(the batch's ratings), no weights touched.
//   P  the cases split among the workers (one at a time from a shared counter, longest first): each
//      case's positive phase from the K-slices it reads, computed as they will be once prepared, so no row
//      is written in P (casePositive).
//   G  the cases split again, the same way (longest first, so the last ones to finish are short): each
//      case's Gibbs step and CD statistics into its own slots (batchPh0/Ph, batchNeg/Q/Err by rating),
//      drawing from its own position of the stream. The first case to read a touched row prepares it
//      (catch-up and the half-step, prepareRow; claimed with an atomic, ensurePrepared) right before it
//      reads the whole row, so every read of W sees the prepared row, which no one changes until the batch
//      ends, and the row is in cache for that read.
//   C  the touched rows split again: each row's ratings' gradient terms, in case order, into vW and vb,
//      and the row marked pending (W ← W + v deferred as in applyBatch); the lead adds the cases' terms
//      to vc, c ← c + vc, and sums the reconstruction errors in the serial order.
//
// Every sum is taken in the order of the serial case-by-case path (trainEpoch with rowWiseMaxSteps 0:
// prepareCase and accumulateCase per case), and each case draws exactly the numbers it draws there, so
// the weights equal that path's bit for bit whatever the number of workers, and which worker ran which
// case does not matter. (The serial default at T = 1, trainBatch, sums each case's hidden input in row
// order instead: it agrees to float rounding.)
//
// Where it stops scaling: L is serial (its cost follows the batch's ratings, small beside G); C splits
// rows and G splits cases, so a batch of B cases keeps at most B workers busy in G, and the longest
// case bounds G's time; and every phase streams rows of W and v from memory, so the workers share one
// memory bus. Each barrier spins briefly, then sleeps (atomic.wait), so a machine with more threads than
// cores, or other work on it, still makes progress.

const SYNC_WORDS: u64 = 9;
/** Offsets of the synchronisation words in pSync, one per cache line. */
const SYNC_COUNT: usize = 0;
const SYNC_GEN: usize = 64;
const SYNC_ABORT: usize = 128;
const SYNC_POSITIVE: usize = 192;
const SYNC_CASES: usize = 256;
const SYNC_ROWS: usize = 320;
const SYNC_FLUSH: usize = 384;
const SYNC_TOUCHED: usize = 448;
const SYNC_WORK: usize = 512;
/** Rows per grab from a shared counter (a row is K·F floats of W and v: a few µs of work). */
const ROW_CHUNK: i32 = 8;
const FLUSH_CHUNK: i32 = 64;
/** Polls of a barrier's generation before sleeping on it. */
const SPINS: i32 = 2000;
/** A sleeping worker wakes this often (ns) to look at the abort word. */
const WAIT_NS: i64 = 50_000_000;

/**
 * Waits until all WORKERS instances have arrived (a generation barrier: the last to arrive resets the
 * count and advances the generation). Returns false if the run was aborted (a worker failed).
 */
function barrier(): bool {
  const gen = atomic.load<i32>(pSync + SYNC_GEN);
  if (atomic.add<i32>(pSync + SYNC_COUNT, 1) == WORKERS - 1) {
    atomic.store<i32>(pSync + SYNC_COUNT, 0);
    atomic.store<i32>(pSync + SYNC_GEN, gen + 1);
    atomic.notify(pSync + SYNC_GEN, WORKERS);
  } else {
    let spins = 0;
    while (atomic.load<i32>(pSync + SYNC_GEN) == gen) {
      if (atomic.load<i32>(pSync + SYNC_ABORT) != 0) return false;
      if (spins < SPINS) spins++;
      else atomic.wait<i32>(pSync + SYNC_GEN, gen, WAIT_NS);
    }
  }
  return atomic.load<i32>(pSync + SYNC_ABORT) == 0;
}

/** Phase L of a batch (the lead only); see above. */
function leadBatch(at: i32, stop: i32, steps: i32): void {
  const B = stop - at;
  beginBatch(B);
  const rowsTouched = groupBatch(at, stop);
  for (let c = 0; c < B; c++) {
    const r = load<i32>(pCaseRow + (<usize>c << 2));
    const count = load<i32>(pRowStart + (<usize>(r + 1) << 2)) - load<i32>(pRowStart + (<usize>r << 2));
    const st = pCaseState + (<usize>c << 4);
    store<u32>(st, s0); store<u32>(st, s1, 4); store<u32>(st, s2, 8); store<u32>(st, s3, 12);
    // A case draws F hidden and then one visible sample per rating, each step (none if it is empty).
    if (count > 0) for (let d = steps * (F + count); d > 0; d--) nextU32();
    // Insertion into the queue, longest first (ties in case order).
    let q = c;
    while (q > 0) {
      const prev = load<i32>(pCaseQueue + (<usize>(q - 1) << 2));
      const pr = load<i32>(pCaseRow + (<usize>prev << 2));
      const prevCount = load<i32>(pRowStart + (<usize>(pr + 1) << 2)) - load<i32>(pRowStart + (<usize>pr << 2));
      if (prevCount >= count) break;
      store<i32>(pCaseQueue + (<usize>q << 2), prev);
      q--;
    }
    store<i32>(pCaseQueue + (<usize>q << 2), c);
  }
  atomic.store<i32>(pSync + SYNC_TOUCHED, rowsTouched);
  atomic.store<i32>(pSync + SYNC_POSITIVE, 0);
  atomic.store<i32>(pSync + SYNC_CASES, 0);
  atomic.store<i32>(pSync + SYNC_ROWS, 0);
}

/** isTouched states of a row during a parallel batch: touched (groupBatch), being prepared, prepared. */
const ROW_TOUCHED: u8 = 1;
const ROW_PREPARING: u8 = 2;
const ROW_PREPARED: u8 = 3;

/**
 * Phase G's first read of touched row i: the first worker to get there prepares it (prepareRow: the result
 * does not depend on who), a worker that finds it being prepared waits the few µs that takes. Preparing a
 * row right before its first case reads it keeps it in cache for that read (a separate pass over the rows
 * before the cases would bring each from memory once more).
 */
function ensurePrepared(i: i32): void {
  const at = pIsTouched + <usize>i;
  if (atomic.load<u8>(at) == ROW_PREPARED) return;
  if (atomic.cmpxchg<u8>(at, ROW_TOUCHED, ROW_PREPARING) == ROW_TOUCHED) {
    prepareRow(i);
    atomic.store<u8>(at, ROW_PREPARED);
    return;
  }
  while (atomic.load<u8>(at) != ROW_PREPARED) {}
}

/**
 * Phase P for case slot c: its positive phase ph0 = σ(c + Σ_i W[i, r_i, :]) (and a PCD chain's start) into
 * batchPh0 (batchPh), each K-slice read as it will be once its row is prepared (addPreparedSliceExactF: the
 * row's map applied to the stored W and v, rounded as prepareRow rounds), so no row is written: in phase P
 * no thread writes W or v, and phase G, after a barrier, prepares each row right before the Gibbs step
 * reads all of it. Preparing here instead (as before) left a long case's rows out of cache by the time its
 * Gibbs step read them again (an item's tens of thousands of 8 KB rows), a second trip to memory per rating.
 * With `prepare` (a batch whose cases all fit in cache: no phase P, see parallelEpoch) it prepares each
 * row as it reads it instead, inside phase G: the same numbers (addPreparedSliceExactF rounds as prepareRow).
 */
function casePositive(c: i32, prepare: bool): void {
  const r = load<i32>(pCaseRow + (<usize>c << 2));
  const start = load<i32>(pRowStart + (<usize>r << 2));
  const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
  if (end == start) return;
  const ph0 = pBatchPh0 + (<usize>(c * F) << 2);
  const ph = pBatchPh + (<usize>(c * F) << 2);
  const kf = K * F;
  copyF(ph0, pC);
  for (let n = start; n < end; n++) {
    const i = load<i32>(pCols + (<usize>n << 2));
    const k = <i32>load<u8>(pLevels + <usize>n);
    if (prepare) {
      ensurePrepared(i);
      addF(ph0, pW + (<usize>(i * kf + k * F) << 2));
    } else {
      addPreparedSliceExactF(ph0, i, k);
    }
  }
  sigmoidF(ph0);
  if (!PERSISTENT) {
    copyF(ph, ph0);
  } else {
    copyF(ph, pC);
    for (let n = start; n < end; n++) {
      const i = load<i32>(pCols + (<usize>n << 2));
      const k = <i32>load<u8>(pChain + <usize>n);
      if (prepare) addF(ph, pW + (<usize>(i * kf + k * F) << 2));
      else addPreparedSliceExactF(ph, i, k);
    }
    sigmoidF(ph);
  }
}

/**
 * Phase G for case slot c: its CD-T statistics exactly as accumulateCase computes them (same draws, same
 * sums), from the positive phase P left in its slots, kept in the case's slots instead of added to the
 * velocities: sph0 = (ε/B) ph0 and sph = (ε/B) ph_T in batchPh0/batchPh, each rating's sampled level,
 * mean-field probabilities and first-step squared error by rating. Reads W, b, c only, each touched row
 * once ensurePrepared has prepared it (W is then fixed until the batch ends).
 */
function caseStatistics(c: i32, steps: i32, meanField: bool, positive: bool): void {
  if (positive) casePositive(c, true);
  const r = load<i32>(pCaseRow + (<usize>c << 2));
  const start = load<i32>(pRowStart + (<usize>r << 2));
  const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
  if (end == start) return;
  const rowBytes = <usize>F << 2;
  const kf = K * F;
  const delta = load<i32>(pCaseDelta + (<usize>c << 2));
  const ph0 = pBatchPh0 + (<usize>(c * F) << 2);
  const ph = pBatchPh + (<usize>(c * F) << 2);

  const st = pCaseState + (<usize>c << 4);
  setRng(load<u32>(st), load<u32>(st, 4), load<u32>(st, 8), load<u32>(st, 12));
  for (let t = 0; t < steps; t++) {
    for (let j = 0; j < F; j++) {
      const on = nextUniform() < <f64>load<f32>(ph + (<usize>j << 2));
      store<i32>(pMask + (<usize>j << 2), on ? -1 : 0);
    }
    const meanFieldNow = meanField && t == steps - 1;
    copyF(ph, pC);
    for (let n = start; n < end; n++) {
      const i = load<i32>(pCols + (<usize>n << 2));
      const pos = n + delta;
      if (t == 0 && !positive) ensurePrepared(i);
      const rowI = pW + (<usize>(i * kf) << 2);
      const max = visibleInputs(i, rowI, pMask);
      let sum: f64 = 0;
      for (let k = 0; k < K; k++) {
        const a = pProbs + (<usize>k << 3);
        const e = Math.exp(load<f64>(a) - max);
        store<f64>(a, e);
        sum += e;
      }
      if (t == 0) {
        let e: f64 = 0;
        for (let k = 0; k < K; k++) e += (load<f64>(pProbs + (<usize>k << 3)) / sum) * load<f64>(pRatingLevels + (<usize>k << 3));
        const d = e - load<f64>(pRatingLevels + (<usize>load<u8>(pLevels + <usize>n) << 3));
        store<f64>(pBatchErr + (<usize>pos << 3), d * d);
      }
      if (meanFieldNow) {
        const qAt = pBatchQ + (<usize>(pos * K) << 2);
        for (let k = 0; k < K; k++) {
          const q = <f32>(load<f64>(pProbs + (<usize>k << 3)) / sum);
          store<f32>(qAt + (<usize>k << 2), q);
          v128.store(pQv + (<usize>k << 4), f32x4.splat(q));
        }
      }
      let u = nextUniform() * sum;
      let k = 0;
      while (k < K - 1 && u >= load<f64>(pProbs + (<usize>k << 3))) {
        u -= load<f64>(pProbs + (<usize>k << 3));
        k++;
      }
      store<u8>(pBatchNeg + <usize>pos, <u8>k);
      if (meanFieldNow) addMixedRowsF(ph, rowI);
      else addF(ph, rowI + <usize>k * rowBytes);
    }
    sigmoidF(ph);
  }
  scaleF(ph0, ph0, scale);
  scaleF(ph, ph, scale);
}

/** The lead's part of phase C: the cases' terms into vc in case order, c ← c + vc, the errors summed. */
function leadBatchEnd(at: i32, stop: i32): void {
  const B = stop - at;
  for (let c = 0; c < B; c++) {
    const r = load<i32>(pCaseRow + (<usize>c << 2));
    const start = load<i32>(pRowStart + (<usize>r << 2));
    const end = load<i32>(pRowStart + (<usize>(r + 1) << 2));
    if (end == start) continue;
    const sph0 = pBatchPh0 + (<usize>(c * F) << 2);
    const sph = pBatchPh + (<usize>(c * F) << 2);
    for (let j = 0; j < F; j++) {
      const a = pVC + (<usize>j << 2);
      store<f32>(a, load<f32>(a) + (load<f32>(sph0 + (<usize>j << 2)) - load<f32>(sph + (<usize>j << 2))));
    }
    const delta = load<i32>(pCaseDelta + (<usize>c << 2));
    for (let n = start; n < end; n++) {
      squaredError += load<f64>(pBatchErr + (<usize>(n + delta) << 3));
      errorCount += 1;
    }
  }
  addRows(pC, pVC, F);
  touchedCount = 0;
}

/**
 * One epoch over order[0..count) on WORKERS threads: every instance calls this with the same arguments
 * (the rates and the lead's update count `startStep` too, which it adopts). Same update, draws and sums as
 * trainEpoch case by case (see above); the random stream is the lead's (setRng/getRng), advanced past the
 * epoch's draws. Returns 0, or 1 if the run was aborted.
 */
export function parallelEpoch(
  count: i32, batchSize: i32, steps: i32, meanField: bool, newLr: f64, newMu: f64, newDecay: f64, startStep: i32,
  splitFromBytes: f64,
): i32 {
  setRates(newLr, newMu, newDecay);
  step = startStep;
  if (WORKER == 0) atomic.store<i32>(pSync + SYNC_FLUSH, 0);
  if (!barrier()) return 1;
  for (let at = 0; at < count; at += batchSize) {
    const stop = min(count, at + batchSize);
    if (WORKER == 0) leadBatch(at, stop, steps);
    else scale = <f32>(lr / <f64>(stop - at));
    if (!barrier()) return 1;

    const rowsTouched = atomic.load<i32>(pSync + SYNC_TOUCHED);
    // Cases draw from their own positions of the stream: the lead keeps where the batch's draws end.
    const e0 = s0, e1 = s1, e2 = s2, e3 = s3;
    const B = stop - at;
    // Phase P only when the batch's longest case (the queue's first) reads more weight bytes than stay in
    // cache (splitFromBytes): below that, its rows are still in cache for the Gibbs step, and P's extra
    // pass and barrier cost more than they save. Every thread reads the same queue, so all choose alike;
    // both ways give the same bits.
    const longest = load<i32>(pCaseRow + (<usize>load<i32>(pCaseQueue) << 2));
    const longestBytes = <f64>(load<i32>(pRowStart + (<usize>(longest + 1) << 2)) - load<i32>(pRowStart + (<usize>longest << 2))) * <f64>(K * F * 4);
    const split = B > 0 && longestBytes >= splitFromBytes;
    if (split) {
      for (;;) {
        const q = atomic.add<i32>(pSync + SYNC_POSITIVE, 1);
        if (q >= B) break;
        casePositive(load<i32>(pCaseQueue + (<usize>q << 2)), false);
      }
      if (!barrier()) return 1;
    }
    for (;;) {
      const q = atomic.add<i32>(pSync + SYNC_CASES, 1);
      if (q >= B) break;
      caseStatistics(load<i32>(pCaseQueue + (<usize>q << 2)), steps, meanField, !split);
    }
    setRng(e0, e1, e2, e3);
    if (!barrier()) return 1;

    if (WORKER == 0) leadBatchEnd(at, stop);
    for (;;) {
      const from = atomic.add<i32>(pSync + SYNC_ROWS, ROW_CHUNK);
      if (from >= rowsTouched) break;
      const to = min(rowsTouched, from + ROW_CHUNK);
      for (let s = from; s < to; s++) {
        rowGradient(s, meanField);
        const i = load<i32>(pTouched + (<usize>s << 2));
        store<u8>(pPending + <usize>i, 1);
        store<i32>(pLastStep + (<usize>i << 2), step + 1);
        store<u8>(pIsTouched + <usize>i, 0);
      }
    }
    if (!barrier()) return 1;
    step++;
  }
  // flush, split by rows.
  for (;;) {
    const from = atomic.add<i32>(pSync + SYNC_FLUSH, FLUSH_CHUNK);
    if (from >= V) break;
    const to = min(V, from + FLUSH_CHUNK);
    for (let i = from; i < to; i++) catchUp(i);
  }
  return barrier() ? 0 : 1;
}

/** Marks the run aborted and wakes every worker sleeping in a barrier (they return 1). */
export function abortParallel(): void {
  atomic.store<i32>(pSync + SYNC_ABORT, 1);
  atomic.notify(pSync + SYNC_GEN, -1);
}

// ---- inference on several threads: the validation pass and the hidden features ----
//
// The same numbers as the JS inference of ../params.ts and ../train.ts (rbmExpectations, hiddenProbabilities),
// bit for bit: the hidden input is summed in f32 in rating order (f32x4 lanes are independent units j, so
// SIMD keeps each unit's order), σ and the softmax use exactJsExp (V8's Math.exp), and the visible inputs
// x_k = b[i,k] + Σ_j h_j W[i,k,j] are summed in f64 with j in order (two levels k per f64x2, each lane its
// own sum). Rows are claimed from a shared counter in chunks, so threads take rows of any length as they
// come free; each row's outputs depend on that row alone, so who computes it does not matter.

/**
 * e^x exactly as V8's Math.exp computes it (fdlibm's e_exp.c, which V8 ports in base/ieee754.cc), so that
 * inference here gives the JS code's numbers bit for bit (AssemblyScript's Math.exp is another algorithm,
 * off by an ulp now and then; the CD kernels keep it: they never promised bit equality with JS).
 */
function exactJsExp(x0: f64): f64 {
  let x = x0;
  let hx = <u32>(reinterpret<u64>(x) >> 32);
  const xsb = <i32>(hx >> 31);
  hx &= 0x7fffffff;
  if (hx >= 0x40862e42) {
    if (hx >= 0x7ff00000) {
      const lx = <u32>reinterpret<u64>(x);
      if (((hx & 0xfffff) | lx) != 0) return x + x;
      return xsb == 0 ? x : 0.0;
    }
    if (x > 7.09782712893383973096e+02) return Infinity;
    if (x < -7.45133219101941108420e+02) return 0.0;
  }
  let hi: f64 = 0;
  let lo: f64 = 0;
  let k: i32 = 0;
  if (hx > 0x3fd62e42) {
    if (hx < 0x3ff0a2b2) {
      if (x == 1.0) return 2.718281828459045;
      if (xsb == 0) {
        hi = x - 6.93147180369123816490e-01;
        lo = 1.90821492927058770002e-10;
        k = 1;
      } else {
        hi = x + 6.93147180369123816490e-01;
        lo = -1.90821492927058770002e-10;
        k = -1;
      }
    } else {
      k = <i32>(1.44269504088896338700e+00 * x + (xsb == 0 ? 0.5 : -0.5));
      const t = <f64>k;
      hi = x - t * 6.93147180369123816490e-01;
      lo = t * 1.90821492927058770002e-10;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    return 1.0 + x;
  }
  const t = x * x;
  const twopk = k >= -1021
    ? reinterpret<f64>(<u64>(0x3ff00000 + (k << 20)) << 32)
    : reinterpret<f64>(<u64>(0x3ff00000 + ((k + 1000) << 20)) << 32);
  const c = x - t * (1.66666666666666019037e-01 + t * (-2.77777777770155933842e-03 + t * (6.61375632143793436117e-05 +
    t * (-1.65339022054652515390e-06 + t * 4.13813679705723846039e-08))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * 8.988465674311579539e307;
    return y * twopk;
  }
  return y * twopk * 9.33263618503218878990e-302;
}

/** For tests: exactJsExp(x), to compare with Math.exp. */
export function jsExp(x: f64): f64 {
  return exactJsExp(x);
}

/** dst = σ(c + Σ_{n ∈ [s, e)} W[cols[n], levels[n], :]) (hiddenProbabilities of ../params.ts). */
function hiddenOf(dst: usize, cols: usize, levels: usize, s: i32, e: i32): void {
  const kf = K * F;
  copyF(dst, pC);
  for (let n = s; n < e; n++) {
    const i = load<i32>(cols + (<usize>n << 2));
    addF(dst, pW + (<usize>(i * kf + <i32>load<u8>(levels + <usize>n) * F) << 2));
  }
  sigmoidExactF(dst);
}

/**
 * The expected rating Σ_k level_k p(v_i = k | h) of visible unit i given hidden probabilities h
 * (visibleDistribution, softmaxInPlace and expectation of ../params.ts, in their order).
 */
function expectedRating(i: i32, h: usize): f64 {
  const rowBytes = <usize>F << 2;
  const rowI = pW + (<usize>(i * K * F) << 2);
  const bias = pB + (<usize>(i * K) << 2);
  let k = 0;
  for (; k + 1 < K; k += 2) {
    const ra = rowI + <usize>k * rowBytes;
    const rb = ra + rowBytes;
    let acc = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(bias + (<usize>k << 2))), 1, <f64>load<f32>(bias + (<usize>(k + 1) << 2)));
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const w = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(ra + j)), 1, <f64>load<f32>(rb + j));
      acc = f64x2.add(acc, f64x2.mul(f64x2.splat(<f64>load<f32>(h + j)), w));
    }
    v128.store(pPredX + (<usize>k << 3), acc);
  }
  if (k < K) {
    const r = rowI + <usize>k * rowBytes;
    let x = <f64>load<f32>(bias + (<usize>k << 2));
    for (let j: usize = 0; j < rowBytes; j += 4) x += <f64>load<f32>(h + j) * <f64>load<f32>(r + j);
    store<f64>(pPredX + (<usize>k << 3), x);
  }
  let max = -Infinity;
  for (k = 0; k < K; k++) {
    const x = load<f64>(pPredX + (<usize>k << 3));
    if (x > max) max = x;
  }
  let sum: f64 = 0;
  for (k = 0; k < K; k++) {
    const at = pPredX + (<usize>k << 3);
    const e = exactJsExp(load<f64>(at) - max);
    store<f64>(at, e);
    sum += e;
  }
  let e: f64 = 0;
  for (k = 0; k < K; k++) e += (load<f64>(pPredX + (<usize>k << 3)) / sum) * load<f64>(pRatingLevels + (<usize>k << 3));
  return e;
}

/** Validation row r's predictions: p̂ = p(h | r's training ratings), then each validation entry's expectation. */
function predictRow(r: i32): void {
  const s = load<i32>(pValRowStart + (<usize>r << 2));
  const e = load<i32>(pValRowStart + (<usize>(r + 1) << 2));
  if (s == e) return;
  hiddenOf(pPredH, pCols, pLevels, load<i32>(pRowStart + (<usize>r << 2)), load<i32>(pRowStart + (<usize>(r + 1) << 2)));
  for (let t = s; t < e; t++) store<f64>(pValOut + (<usize>t << 3), expectedRating(load<i32>(pValCols + (<usize>t << 2)), pPredH));
}

/** Feature row r's hidden probabilities into its F outputs. */
function featureRow(r: i32): void {
  hiddenOf(pFeatOut + (<usize>(r * F) << 2), pFeatCols, pFeatLevels,
    load<i32>(pFeatRowStart + (<usize>r << 2)), load<i32>(pFeatRowStart + (<usize>(r + 1) << 2)));
}

/** dst ← σ(dst) for F units, as hiddenOf ends. */
function sigmoidExactF(dst: usize): void {
  for (let j = 0; j < F; j++) {
    const at = dst + (<usize>j << 2);
    store<f32>(at, <f32>(1.0 / (1.0 + exactJsExp(-<f64>load<f32>(at)))));
  }
}

/**
 * featureRow and predictRow of row r from one walk over its feature ratings (all training ratings): its
 * training cases' ratings (the fit part, in the same order: a subsequence) are summed into the
 * prediction's hidden input as they go by, so each weight slice is read once for both sums. Each sum
 * adds the same slices in the same order as its own pass, so the numbers are the same bit for bit. A row
 * whose training ratings are not such a subsequence has its prediction's sum taken again on its own.
 */
function featureAndPredictRow(r: i32): void {
  const kf = K * F;
  const all = pFeatOut + (<usize>(r * F) << 2);
  const fs = load<i32>(pFeatRowStart + (<usize>r << 2));
  const fe = load<i32>(pFeatRowStart + (<usize>(r + 1) << 2));
  const ts = load<i32>(pRowStart + (<usize>r << 2));
  const te = load<i32>(pRowStart + (<usize>(r + 1) << 2));
  const vs = load<i32>(pValRowStart + (<usize>r << 2));
  const ve = load<i32>(pValRowStart + (<usize>(r + 1) << 2));
  const predict = vs < ve;
  copyF(all, pC);
  copyF(pPredH, pC);
  let t = ts;
  for (let n = fs; n < fe; n++) {
    const i = load<i32>(pFeatCols + (<usize>n << 2));
    const k = <i32>load<u8>(pFeatLevels + <usize>n);
    const slice = pW + (<usize>(i * kf + k * F) << 2);
    addF(all, slice);
    if (predict && t < te && load<i32>(pCols + (<usize>t << 2)) == i && <i32>load<u8>(pLevels + <usize>t) == k) {
      addF(pPredH, slice);
      t++;
    }
  }
  sigmoidExactF(all);
  if (!predict) return;
  if (t == te) sigmoidExactF(pPredH);
  else hiddenOf(pPredH, pCols, pLevels, ts, te);
  for (let q = vs; q < ve; q++) store<f64>(pValOut + (<usize>q << 3), expectedRating(load<i32>(pValCols + (<usize>q << 2)), pPredH));
}

/**
 * Every instance calls this with the same arguments: the rows predRows[0..count) in chunks of `chunk` from
 * a shared counter, each predicted (what = 0: predictRow) or its hidden features computed (what = 1:
 * featureRow), or both (what = 2: featureAndPredictRow, over the rows with feature ratings). Reads W, b, c only (call between epochs: every row is then up to date). Returns 0, or 1 if
 * the run was aborted.
 */
export function parallelRows(what: i32, count: i32, chunk: i32): i32 {
  if (WORKER == 0) atomic.store<i32>(pSync + SYNC_WORK, 0);
  if (!barrier()) return 1;
  for (;;) {
    const from = atomic.add<i32>(pSync + SYNC_WORK, chunk);
    if (from >= count) break;
    const to = min(count, from + chunk);
    for (let q = from; q < to; q++) {
      const r = load<i32>(pPredRows + (<usize>q << 2));
      if (what == 0) predictRow(r);
      else if (what == 1) featureRow(r);
      else featureAndPredictRow(r);
    }
  }
  return barrier() ? 0 : 1;
}
