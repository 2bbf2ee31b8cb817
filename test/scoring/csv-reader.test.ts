/** The batch scorer's CSV reader: records are the same however the text is cut into chunks. */
import { describe, expect, it } from 'vitest';
import { csvRecordBatches } from '../../src/scoring/csv-reader.js';

async function records(chunks: (string | Buffer)[]): Promise<string[][]> {
  const out: string[][] = [];
  for await (const batch of csvRecordBatches(
    (async function* () {
      yield* chunks;
    })(),
  ))
    out.push(...batch);
  return out;
}

/** Every way of cutting `text` into two chunks, and one character at a time. */
function cuts(text: string): string[][] {
  const ways = [[text], [...text]];
  for (let i = 1; i < text.length; i++) ways.push([text.slice(0, i), text.slice(i)]);
  return ways;
}

describe('csvRecordBatches', () => {
  it.each([
    ['LF', 'userId,itemId\n1,2\n\n3,4\n', [['userId', 'itemId'], ['1', '2'], [''], ['3', '4']]],
    [
      'CRLF',
      'a,b\r\n1,2\r\n3,4',
      [
        ['a', 'b'],
        ['1', '2'],
        ['3', '4'],
      ],
    ],
    [
      'quoted separators and line breaks',
      'id,note\n1,"x, ""y""\nz"\n2,w\n',
      [
        ['id', 'note'],
        ['1', 'x, "y"\nz'],
        ['2', 'w'],
      ],
    ],
    ['a single line without newline', '5,6', [['5', '6']]],
    ['a leading blank line', '\n1,2\n', [[''], ['1', '2']]],
  ])('%s: same records for every chunking', async (_name, text, expected) => {
    for (const chunks of cuts(text)) expect(await records(chunks)).toEqual(expected);
  });

  it('decodes UTF-8 split inside a character across Buffer chunks', async () => {
    const bytes = Buffer.from('title\nMisérables\n', 'utf8');
    const at = bytes.indexOf(0xc3) + 1; // between the two bytes of "é"
    expect(await records([bytes.subarray(0, at), bytes.subarray(at)])).toEqual([['title'], ['Misérables']]);
  });

  it('yields nothing for empty input', async () => {
    expect(await records([])).toEqual([]);
    expect(await records([''])).toEqual([]);
  });
});
