/**
 * Size limits on what an import reads, so a broken or hostile file is refused with file:line instead of
 * exhausting memory (a 640 MiB line once failed with V8's "Cannot create a string longer than …" after
 * 1.9 GB of memory) or being stored as is (a 32 MiB title, kept twice: title and search key).
 *
 * - `maxLineBytes`, default 1 MiB: the longest line of any published MovieLens file is a few hundred bytes
 *   (u.item ~265, movies.csv a few hundred), so 1 MiB is thousands of times that, while a reader that
 *   refuses at the limit holds at most the limit plus one read chunk of any line in memory.
 * - `maxTitleChars`, default 1,000: MovieLens titles stay under ~200 characters (100K's longest is 81); a
 *   title is shown in lists and stored twice (title and search key), so a paragraph is not a title.
 *
 * Both are parameters so tests can use small limits over small generated files.
 */
export interface InputLimits {
  /** Longest line (CSV: longest row, quoted line breaks included) in bytes, line break excluded. */
  maxLineBytes: number;
  /** Longest movie title in characters (UTF-16 code units, as JavaScript counts them). */
  maxTitleChars: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = { maxLineBytes: 1024 * 1024, maxTitleChars: 1000 };

/** "1 MiB (1,048,576 bytes)" */
export function describeBytes(bytes: number): string {
  const exact = `${bytes.toLocaleString('en-US')} bytes`;
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB (${exact})`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB (${exact})`;
  return exact;
}

/** Receives a file's bytes as they are read (a node:crypto Hash for a fingerprint, or a byte counter). */
export interface ByteSink {
  update(bytes: Uint8Array): unknown;
}
