/** Choosing the users to score: `--users 1,2,3` or `--users-file f` (one id per line, or a CSV's first column). */
import { ID_PATTERN } from '../data/ids.js';
import { createReadStream } from 'node:fs';
import { csvRecordBatches } from './csv-reader.js';

/** `1,2,3` → [1, 2, 3]; duplicates removed, order kept. */
export function parseUserIdList(raw: string): number[] {
  const ids = raw.split(',').map((part, n) => {
    const id = part.trim();
    if (!ID_PATTERN.test(id)) throw new Error(`--users: entry ${n + 1} must be a non-negative integer user id, got "${id}"`);
    return Number(id);
  });
  return [...new Set(ids)];
}

/**
 * User ids from the first column of a file, streamed through papaparse. A first line that is not a number
 * is taken as a header; blank lines are ignored; anything else that is not an id fails with its line.
 */
export async function readUserIdsFile(path: string): Promise<number[]> {
  const ids = new Set<number>();
  let line = 0;
  for await (const batch of csvRecordBatches(createReadStream(path, 'utf8')))
    for (const fields of batch) {
      line++;
      const first = (fields[0] ?? '').trim();
      if (first === '' && fields.length === 1) continue;
      if (!ID_PATTERN.test(first)) {
        if (line === 1) continue; // header
        throw new Error(`${path}:${line}: expected a user id in the first column, got "${first}"`);
      }
      ids.add(Number(first));
    }
  return [...ids];
}
