/**
 * Progress on stderr for the command-line scripts:
 * - createProgress(): a bar for a phase of known total (a running count when the total is unknown). On a
 *   terminal it redraws one line in place, at most 10 times a second, so drawing never costs more than the
 *   work. Elsewhere (CI logs, pipes) it stays quiet until the phase ends, or prints a plain line every few
 *   seconds if asked, so logs do not fill with carriage returns.
 * - progressLine() / endProgress(): a one-line status the caller rewrites itself (train and evaluate, once
 *   per epoch), with bar() to draw a fraction.
 * - formatBytes() / formatCount() for the numbers shown.
 */
import type { EpochReport } from '../rbm/train.js';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Progress {
  /** `done` units so far; a `total` given here replaces the one given to createProgress (null: unknown). */
  update(done: number, total?: number | null): void;
  /** Ends the phase with its closing line. */
  finish(summary?: string): void;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** The total if known at the start; null (the default) for unknown: a running count is shown, no bar. */
  total?: number | null;
  /** Formats the done and total values (default String). */
  format?: (done: number) => string;
  /**
   * 'phase' (default): "label [###...]  42% done / total", and finish() replaces the bar with
   * "label: summary"; reaching the total is always drawn.
   * 'throughput': "label [###...]  42% done/total (rate/s, elapsed s)", and finish() draws the final state
   * followed by " — summary".
   */
  layout?: 'phase' | 'throughput';
  /** When not a terminal, print a plain line at most this often; without it, print nothing until finish(). */
  plainLineEveryMs?: number;
  /**
   * Extra text after the bar, e.g. "1.2M rows, 850,000 rows/s, ETA 12 s" when the bar counts bytes but the
   * reader wants rows. Gets the units done, the total (null: unknown) and the seconds since the start.
   */
  detail?: (done: number, total: number | null, seconds: number) => string;
}

/**
 * "ETA 12 s" from the rate so far: the remaining units at the average rate since the start,
 * eta = seconds × (total − done) / done. Empty until something is done.
 */
export function formatEta(done: number, total: number | null, seconds: number): string {
  if (total === null || done <= 0 || seconds <= 0) return '';
  const remaining = (seconds * Math.max(0, total - done)) / done;
  return `ETA ${remaining < 60 ? `${Math.ceil(remaining)} s` : `${Math.floor(remaining / 60)} min ${Math.ceil(remaining % 60)} s`}`;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

export function createProgress(label: string, options: ProgressOptions = {}): Progress {
  const { stream = process.stderr, format = String, layout = 'phase', plainLineEveryMs } = options;
  const started = Date.now();
  const interactive = stream.isTTY === true;
  const minIntervalMs = interactive ? REDRAW_MS : plainLineEveryMs;
  let total = options.total ?? null;
  let lastDraw = 0;
  let last = 0;

  const render = (done: number): string => {
    let text = label;
    if (total === null) text += ` ${format(done)}`;
    else {
      const fraction = total > 0 ? Math.min(1, done / total) : 1;
      const of = layout === 'phase' ? ' / ' : '/';
      text += ` ${bar(fraction, BAR_WIDTH, '.')} ${(fraction * 100).toFixed(0).padStart(3)}% ${format(done)}${of}${format(total)}`;
    }
    const seconds = (Date.now() - started) / 1000;
    if (layout === 'throughput') {
      const rate = seconds > 0 ? Math.round(done / seconds) : 0;
      text += ` (${rate}/s, ${seconds.toFixed(1)} s)`;
    }
    if (options.detail) text += ` ${options.detail(done, total, seconds)}`;
    return text;
  };

  return {
    update(done, newTotal) {
      last = done;
      if (newTotal !== undefined) total = newTotal;
      if (minIntervalMs === undefined) return;
      const now = Date.now();
      const completed = layout === 'phase' && total !== null && done >= total;
      if (now - lastDraw < minIntervalMs && !completed) return;
      lastDraw = now;
      stream.write(interactive ? `\r${render(done)}\x1b[K` : `${render(done)}\n`);
    },
    finish(summary) {
      const line =
        layout === 'phase' ? (summary === undefined ? label : `${label}: ${summary}`) : render(last) + (summary ? ` — ${summary}` : '');
      stream.write(interactive ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}

/** A one-line progress display on stderr (redrawn in place on a terminal, plain lines otherwise). */
export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  else process.stderr.write(`${text}\n`);
}

export function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}

/** "[#####-----]" for a fraction in [0, 1]. */
export function bar(fraction: number, width = 20, empty = '-'): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(full)}${empty.repeat(width - full)}]`;
}

/** 1234567 → "1.2 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** 100000 → "100,000". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** "42 s", "3 min 5 s", "2 h 7 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** An epoch report as the trainers send it (maxEpochs, when given, replaces the plan's for its phase). */
export type EpochProgressReport = EpochReport;

export interface TrainingPlan {
  /**
   * How the models' trainings are laid out: each lane trains its phases one after the other, lanes run at
   * the same time (e.g. [['user', 'item'], ['implicit']]: the two rating RBMs in turn, each on all
   * threads, beside the implicit RBM). A phase not named joins as a lane of its own.
   */
  lanes: string[][];
  /**
   * The most epochs a phase can run (early stopping may end it sooner), until the phase reports its own
   * budget (EpochProgressReport.maxEpochs: the epochs scale with the data, known once training starts).
   */
  maxEpochs(phase: string): number;
}

/**
 * The state of a multi-model training for a one-line display: each model's epoch out of its maximum and
 * its last epoch's time, and an estimate of the time left for the whole run.
 *
 * The estimate is an upper bound (every model running all its epochs; early stopping ends sooner):
 *   lane remaining = (max − done) × mean epoch seconds for the running phase
 *                  + max × (that same mean) for each phase after it (not started: assumed as costly),
 *   run remaining  = the largest lane's (lanes run side by side).
 * A phase is over once it reached its maximum or the next phase of its lane reported.
 */
export class TrainingProgress {
  /** Per phase: the last epoch reported, and the epochs timed by this run and their seconds (a resumed phase starts past 1). */
  private readonly phases = new Map<string, { last: EpochProgressReport; timed: number; seconds: number }>();
  private readonly lanes: string[][];

  constructor(private readonly plan: TrainingPlan) {
    this.lanes = plan.lanes.map((lane) => [...lane]);
  }

  /** Records one epoch report. */
  record(report: EpochProgressReport): void {
    const seen = this.phases.get(report.phase);
    this.phases.set(report.phase, { last: report, timed: (seen?.timed ?? 0) + 1, seconds: (seen?.seconds ?? 0) + report.seconds });
    if (!this.lanes.some((lane) => lane.includes(report.phase))) this.lanes.push([report.phase]);
  }

  /** A phase's most epochs: its reported budget, else the plan's. */
  private maxEpochs(phase: string): number {
    return this.phases.get(phase)?.last.maxEpochs ?? this.plan.maxEpochs(phase);
  }

  /** Seconds left for the run at most, or null before any epoch was reported. */
  secondsLeft(): number | null {
    let longest: number | null = null;
    for (const lane of this.lanes) {
      const running = lane.reduce((at, phase, n) => (this.phases.has(phase) ? n : at), -1);
      if (running < 0) continue;
      const state = this.phases.get(lane[running])!;
      const mean = state.seconds / state.timed;
      let left = Math.max(0, this.maxEpochs(lane[running]) - state.last.epoch) * mean;
      for (const later of lane.slice(running + 1)) left += this.maxEpochs(later) * mean;
      longest = Math.max(longest ?? 0, left);
    }
    return longest;
  }

  /** Records the report and returns the status line: every model's epoch, the latest's figures, the ETA. */
  line(report: EpochProgressReport): string {
    this.record(report);
    // The lanes under way (a lane of the plan that never reports, e.g. a model this algorithm does not
    // train, is not shown).
    const models = this.lanes
      .filter((lane) => lane.some((phase) => this.phases.has(phase)))
      .flat()
      .map((phase) => {
        const state = this.phases.get(phase);
        const max = this.maxEpochs(phase);
        return state ? `${phase} ${state.last.epoch}/${max} ${state.last.seconds.toFixed(1)} s` : `${phase} -/${max}`;
      })
      .join(' · ');
    const r = report;
    const figures = `${r.phase} ${r.estimator ?? `CD-${r.cdSteps}`} train RMSE ${r.trainRmse.toFixed(4)} validation ${r.validationRmse?.toFixed(4) ?? '-'}`;
    const left = this.secondsLeft();
    return `${models} | ${figures} | ETA ${left === null ? '?' : `≤ ${formatDuration(left)}`}`;
  }
}
