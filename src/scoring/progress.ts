/**
 * A progress bar on stderr for the batch scorer. On a terminal it redraws one line (at most ~10 times a
 * second, so drawing never costs more than the work); piped to a file or CI log it prints a plain line
 * every few seconds instead of a wall of carriage returns.
 */
export interface Progress {
  /** `done` units of `total` (total may be unknown: null). */
  update(done: number): void;
  /** Draws the final state and ends the line. */
  finish(summary?: string): void;
}

export function createProgress(label: string, total: number | null, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const interactive = stream.isTTY === true;
  const minIntervalMs = interactive ? 100 : 5000;
  let lastDraw = 0;
  let last = 0;

  const render = (done: number): string => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    if (total === null || total <= 0) return `${label} ${done} (${rate}/s, ${seconds.toFixed(1)} s)`;
    const fraction = Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(fraction * width);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${total} (${rate}/s, ${seconds.toFixed(1)} s)`;
  };

  return {
    update(done) {
      last = done;
      const now = Date.now();
      if (now - lastDraw < minIntervalMs) return;
      lastDraw = now;
      stream.write(interactive ? `\r${render(done)}\x1b[K` : `${render(done)}\n`);
    },
    finish(summary) {
      const line = render(last) + (summary ? ` — ${summary}` : '');
      stream.write(interactive ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}
