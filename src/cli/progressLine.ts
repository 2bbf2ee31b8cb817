/**
 * A one-line progress bar on stderr. On a terminal it redraws in place ("\r", at most 10 times a second);
 * elsewhere (CI logs, pipes) it stays quiet until a phase ends and then prints one plain line, so logs do
 * not fill with carriage returns.
 */
export interface ProgressLine {
  update(done: number, total: number): void;
  /** Ends the phase with a closing line. */
  finish(summary: string): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

export function progressLine(label: string, stream: ProgressStream, format: (n: number) => string = String): ProgressLine {
  const interactive = stream.isTTY === true;
  let lastDraw = 0;
  return {
    update(done, total) {
      if (!interactive) return;
      const now = Date.now();
      if (now - lastDraw < REDRAW_MS && done < total) return;
      lastDraw = now;
      const fraction = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
      stream.write(`\r${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${format(done)} / ${format(total)}\x1b[K`);
    },
    finish(summary) {
      stream.write(interactive ? `\r${label}: ${summary}\x1b[K\n` : `${label}: ${summary}\n`);
    },
  };
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
