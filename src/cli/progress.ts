/** A one-line progress display on stderr (redrawn in place on a terminal, plain lines otherwise). */
export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  else process.stderr.write(`${text}\n`);
}

export function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}

/** "[#####-----]" for a fraction in [0, 1]. */
export function bar(fraction: number, width = 20): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}
