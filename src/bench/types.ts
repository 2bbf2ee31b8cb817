/**
 * Shapes shared by the benchmark's parent (orchestration, report) and its child processes (measurement).
 * Everything here is plain JSON: a child sends these over its IPC channel.
 */

/**
 * Training runs per thread count when several counts are timed (--threads 1,2): the counts take turns
 * (measure.ts interleavedRuns), so each sees the same background load (on a shared machine a burst of other
 * work lands on one count's epochs when all of them run back to back), and each figure is the median of
 * its runs' steady epochs.
 */
export const THREAD_ROUNDS = 3;

/** Timing of one orientation's CD training (default RBM options, no validation slice). */
export interface OrientationResult {
  /** Cases (rows) and visible units (columns) of this orientation. */
  rows: number;
  cols: number;
  /** CD steps used by the timed epochs (the default schedule's first stage). */
  cdSteps: number;
  /** Wall-clock seconds of each timed epoch, in order. */
  epochSeconds: number[];
  /**
   * Steady-state seconds per epoch: mean of the epochs after the first (JIT warm-up), or the first alone;
   * with several thread counts timed, the median of the steady epochs of THREAD_ROUNDS interleaved runs
   * (measure.ts), epochSeconds holding every run's epochs in turn.
   */
  secondsPerEpoch: number;
  /**
   * Process CPU seconds of each timed epoch (all threads; the first includes trainRbm's setup). On a
   * shared, loaded machine this is the steadier figure: wall clock also counts time waiting for a core.
   */
  epochCpuSeconds: number[];
  cpuSecondsPerEpoch: number;
  /** trainRbm's time outside the epochs: parameter initialisation and workspace allocation. */
  setupSeconds: number;
  /**
   * Size of W + b + c, and of trainRbm's workspace beyond them, in MiB: for the JS kernels the gradient
   * and momentum copies; for the wasm kernels the module's linear memory (its own W, b, c, the momentum
   * copies and the training cases; no gradient copy).
   */
  paramsMB: number;
  workspaceMB: number;
  /** The CD kernels that ran: 'wasm' (WebAssembly SIMD) or 'js' (see src/rbm/cdEngine.ts). */
  kernels?: string;
  /** Threads the epochs ran on (TrainRbmJob.threads; the JS kernels always use one). */
  threads?: number;
  /** VmHWM of the child right after this orientation trained. */
  peakRssAfterMB: number;
  /**
   * Cores other processes used on average while it trained (contention.ts; the mean over the runs of
   * several thread counts), null where unknown: a 1 → 2 thread comparison means something only near 0.
   */
  otherCores?: number | null;
}

/**
 * Timing of the implicit RBM's training (p(watch) of the served watch-like; fitImplicitRbm with the served
 * options, the 'shared' engine), each epoch including its early-stopping validation pass.
 */
export interface ImplicitEpochResult {
  /** Users (each trains on its ratings less its validation slice) and items. */
  users: number;
  items: number;
  hidden: number;
  batchSize: number;
  /** The negative phase the engine ran ('dense' or 'sampled', by the catalog's size). */
  negativePhase: string;
  threads: number;
  /** Wall-clock seconds of each epoch (mini-batches and the validation pass), in order. */
  epochSeconds: number[];
  /** Mean of the epochs after the first (JIT warm-up), or the first alone; medians as OrientationResult's. */
  secondsPerEpoch: number;
  /** Process CPU seconds of each epoch (all threads; the first includes the setup and the threads' start). */
  epochCpuSeconds: number[];
  cpuSecondsPerEpoch: number;
  /**
   * The pseudo-likelihood member's epochs (a second member of the served ensemble on catalogs with a dense
   * negative phase); the fields above are the CD member's.
   */
  pseudoLikelihood?: { epochSeconds: number[]; secondsPerEpoch: number; epochCpuSeconds: number[]; cpuSecondsPerEpoch: number };
  /** VmHWM of the child right after this training. */
  peakRssAfterMB: number;
  /** As OrientationResult's. */
  otherCores?: number | null;
}

export interface ScoringResult {
  /** tfjs backend the scoring ran on. */
  backend: string;
  /** Users × items scored (every user against every item). */
  users: number;
  items: number;
  /** First full pass over all users with scoreUsers (backend already initialised). */
  seconds: number;
  /** A second, warm pass. */
  warmSeconds: number;
  /** initBackend() time, paid once per process. */
  backendInitSeconds: number;
  /** The fitted mixture; scoring is timed with both RBM components on (see measure.ts). */
  fittedMixture: { user: number; item: number; bias: number };
  /** Time to fit the quick model that is scored (not part of the scoring figure). */
  modelFitSeconds: number;
  modelEpochs: number;
  blockSize: number;
  /** tf.memory().numTensors after the passes minus before: non-zero means a tensor leak. */
  leakedTensors: number;
}

export interface CaseResult {
  name: string;
  description: string;
  ratings: number;
  users: number;
  items: number;
  /** K, rating levels. */
  levels: number;
  /** The default options that shape the cost: F, cases per mini-batch, the last Gibbs step's negative phase. */
  hidden: number;
  batchSize: number;
  negativePhase: string;
  /** Sum over the two orientations the default model trains (user + item). */
  secondsPerEpoch: number;
  userSecondsPerEpoch: number;
  itemSecondsPerEpoch: number;
  /** CPU-time counterparts of secondsPerEpoch. */
  cpuSecondsPerEpoch: number;
  /**
   * Peak resident set size of the child process (VmHWM), MiB: the rating RBMs' training and the scoring,
   * before the implicit RBM is timed (its peak is in byThreads[].implicit).
   */
  peakRssMB: number;
  /** Peak RSS before batch scoring started (equal to peakRssMB when the case does not score). */
  trainingPeakRssMB: number;
  /** Generating or reading the data, and building both orientations' compressed rows. */
  dataSeconds: number;
  compressSeconds: number;
  /** Per-orientation timings of the epoch cases at the first thread count; absent for the pipeline cases. */
  orientations?: { user: OrientationResult; item: OrientationResult };
  /**
   * The same at every thread count timed (--threads), the first included; with the implicit RBM's epochs
   * for the cases that time it (BenchCase.implicit).
   */
  byThreads?: { threads: number; user: OrientationResult; item: OrientationResult; implicit?: ImplicitEpochResult }[];
  /** The whole-path cases (synthetic-25m): each step's seconds and peak RSS. */
  pipeline?: {
    steps: PipelineStep[];
    peakRssPerStep: boolean;
    usersScored: number;
    /** The implicit RBM's epoch (trained on the main thread while the two orientations train in workers). */
    implicitSecondsPerEpoch: number;
  };
  scoring?: ScoringResult;
  /** Wall-clock of the whole child, spawn to exit, as seen by the parent. */
  wallSeconds?: number;
}

/** One step of a whole-path case. */
export interface PipelineStep {
  step: string;
  seconds: number;
  /** Process CPU seconds, all threads. */
  cpuSeconds: number;
  /** Peak RSS during this step alone (MiB) when the mark could be reset, else the process's so far. */
  peakRssMB: number;
  detail?: Record<string, unknown>;
}

/** A stage the child has finished: streamed to the parent so a killed or crashed child still leaves a trail. */
export interface StageEvent {
  stage: string;
  seconds: number;
  rssMB: number;
  detail?: Record<string, unknown>;
}

export type ChildMessage =
  { type: 'stage'; event: StageEvent } | { type: 'result'; result: CaseResult } | { type: 'error'; message: string; stack?: string };

/** Outcome of one case in the parent: a result, or why there is none and how far the child got. */
export interface CaseOutcome {
  name: string;
  result: CaseResult | null;
  error: string | null;
  stages: StageEvent[];
  wallSeconds: number;
}
