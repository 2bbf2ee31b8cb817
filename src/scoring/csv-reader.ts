/**
 * CSV records from a text stream, in batches, with papaparse doing the parsing.
 *
 * Why not `Papa.parse(Papa.NODE_STREAM_INPUT)`: its Duplex pauses the parser every 16 rows (the object-mode
 * highWaterMark) and resumes it through a timer, re-slicing the input each time, which made reading far
 * slower than the scoring. Here the stream is pulled a chunk at a time
 * (so memory stays one chunk, and a slow consumer simply stops the reads), the chunk is cut after its last
 * complete record, and that text is parsed synchronously in one call.
 *
 * A record boundary is a newline outside double quotes, so quoted fields may contain separators and line
 * breaks. Line endings: '\n' or '\r\n' (detected from the first line).
 */
import { StringDecoder } from 'node:string_decoder';
import Papa from 'papaparse';

/** Index of the last newline in `text` that is outside quotes, given the quote parity at its start. */
function lastRecordBreak(text: string): number {
  let inQuotes = false;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */)
      inQuotes = !inQuotes; // an escaped "" toggles twice: no net change
    else if (c === 10 /* \n */ && !inQuotes) last = i;
  }
  return last;
}

/**
 * Yields the records of the CSV text in `input` (each record: its fields as strings), a batch per chunk
 * read. A blank line is a record with one empty field, so a caller counting records counts lines.
 */
export async function* csvRecordBatches(input: AsyncIterable<string | Buffer>): AsyncGenerator<string[][]> {
  let carry = '';
  let newline: '\n' | '\r\n' | null = null;
  const decoder = new StringDecoder('utf8'); // a Buffer chunk may end inside a multi-byte character
  const parse = (text: string): string[][] => {
    if (text === '') return [['']]; // one blank line (papaparse would return no record at all)
    const result = Papa.parse<string[]>(text, { newline: newline ?? '\n', skipEmptyLines: false });
    // Papaparse reports quote problems (e.g. an unclosed quote) as errors but still returns rows; the
    // callers validate each row's fields, so a damaged row is caught there with its line number.
    return result.data;
  };
  for await (const chunk of input) {
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    if (newline === null) {
      const first = text.indexOf('\n');
      if (first < 0) {
        carry = text;
        continue;
      }
      newline = first > 0 && text[first - 1] === '\r' ? '\r\n' : '\n';
    }
    const cut = lastRecordBreak(text);
    if (cut < 0) {
      carry = text;
      continue;
    }
    const end = newline === '\r\n' && text[cut - 1] === '\r' ? cut - 1 : cut;
    carry = text.slice(cut + 1);
    yield parse(text.slice(0, end));
  }
  carry += decoder.end();
  // The last record, unless the text ended with a newline.
  const last = newline === '\r\n' && carry.endsWith('\r') ? carry.slice(0, -1) : carry;
  if (last !== '') yield parse(last);
}
