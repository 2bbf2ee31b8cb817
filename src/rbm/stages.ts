/**
 * Wall-clock seconds of a training's named stages (data preparation, each model's training, the
 * mixture's fit, …), kept in the training summary (`TrainingSummary.stages`) so a user sees where a long
 * training went. Stages that run at the same time (the implicit RBM beside the rating RBMs) each count
 * their own wall time, so the stages can add up to more than the training's.
 */
export class StageClock {
  readonly seconds: Record<string, number> = {};

  /** Runs `work` and adds its wall time to stage `name` (a stage run twice counts both). */
  time<T>(name: string, work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      this.add(name, started);
    }
  }

  /** The same for asynchronous work: the time until its promise settles. */
  async timeAsync<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, started);
    }
  }

  /** Starts stage `name` now; the returned function ends it (for straight-line code). */
  start(name: string): () => void {
    const started = performance.now();
    return () => this.add(name, started);
  }

  private add(name: string, started: number): void {
    this.seconds[name] = (this.seconds[name] ?? 0) + (performance.now() - started) / 1000;
  }
}

/** One line for a terminal: "split 2.1 s, user 48.0 s, …" in the order the stages first ran. */
export const formatStages = (stages: Readonly<Record<string, number>>): string =>
  Object.entries(stages)
    .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
    .join(', ');
