/**
 * Rows to a CSV output stream through papaparse, in batches, honouring backpressure: when the stream's
 * buffer is full the writer waits for 'drain', so a fast producer cannot pile the whole output up in memory.
 */
import type { Writable } from 'node:stream';
import Papa from 'papaparse';
import { roundScore } from '../serving/answers.js';

export type CsvValue = string | number | null;

export class CsvWriter {
  private pending: CsvValue[][] = [];

  constructor(
    private readonly out: Writable,
    private readonly batchRows = 2000,
  ) {}

  /** Adds a row; flushes (and possibly waits for the stream) once a batch is full. */
  async write(row: CsvValue[]): Promise<void> {
    this.pending.push(row);
    if (this.pending.length >= this.batchRows) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = Papa.unparse(this.pending, { header: false, newline: '\n' }) + '\n';
    this.pending = [];
    if (!this.out.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          this.out.off('error', onError);
          resolve();
        };
        const onError = (err: Error): void => {
          this.out.off('drain', onDrain);
          reject(err);
        };
        this.out.once('drain', onDrain);
        this.out.once('error', onError);
      });
    }
  }
}

/** A predicted rating as written to CSV: 4 decimals, enough for any rating scale. */
/** The API's rounding (serving's roundScore), written with 4 decimals: CSV and JSON show the same value. */
export const formatPredicted = (value: number): string => roundScore(value).toFixed(4);
