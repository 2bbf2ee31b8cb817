/** Command line of `npm run bench`. */
import { CASE_NAMES, DEFAULT_CASE_NAMES } from './cases.js';

export const BENCH_USAGE = `usage: npm run bench -- [--json out.json] [--cases a,b] [--epochs n] [--timeout seconds] [--ml100k folder]

  --json      also write the results as JSON to this file
  --cases     comma-separated cases (default: ${DEFAULT_CASE_NAMES.join(', ')}); opt-in: ${CASE_NAMES.filter((c) => !DEFAULT_CASE_NAMES.includes(c)).join(', ')}
  --epochs    epochs timed per model (default: per case, 2–4); the first is treated as warm-up
  --timeout   seconds before a case's child process is stopped and reported as unfinished (default: none)
  --ml100k    MovieLens 100K folder (default: ../shared/datasets/ml-100k)
  --threads   thread counts each model's epochs are timed at (the rating RBMs; the implicit RBM on ml100k and
              synthetic-1m), comma-separated (default: 1,2); the first is the case's headline figure, the
              others are reported beside it with the speedup
  --score-users  whole-path cases: users whose top 10 the scoring step writes, a number or "all"
                 (default: 2000, evenly spread over the ids)`;

export interface BenchArgs {
  help: boolean;
  json: string | null;
  cases: string[];
  epochs: number | null;
  timeoutSeconds: number | null;
  ml100kFolder: string | null;
  /** Whole-path cases: users scored (null: the case's default). */
  scoreUsers: number | 'all' | null;
  /** Epoch cases: the thread counts each orientation is timed at (TrainRbmJob.threads), first the headline. */
  threads: number[];
}

export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

function positiveNumber(flag: string, raw: string, integer: boolean): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new BenchUsageError(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  }
  return n;
}

/** Parses `argv` (without node and the script); accepts `--flag value` and `--flag=value`. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = {
    help: false,
    json: null,
    cases: [...DEFAULT_CASE_NAMES],
    epochs: null,
    timeoutSeconds: null,
    ml100kFolder: null,
    scoreUsers: null,
    threads: [1, 2],
  };
  for (let n = 0; n < argv.length; n++) {
    const arg = argv[n];
    if (arg === '--help' || arg === '-h') {
      args.help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[n + 1];
      if (next === undefined || next.startsWith('--')) throw new BenchUsageError(`${flag} needs a value`);
      n++;
      return next;
    };
    switch (flag) {
      case '--json':
        args.json = value();
        break;
      case '--cases': {
        const names = value()
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
        const unknown = names.filter((s) => !CASE_NAMES.includes(s));
        if (unknown.length > 0) throw new BenchUsageError(`unknown case(s) ${unknown.join(', ')}; known: ${CASE_NAMES.join(', ')}`);
        if (names.length === 0) throw new BenchUsageError('--cases needs at least one case');
        args.cases = names;
        break;
      }
      case '--epochs':
        args.epochs = positiveNumber('--epochs', value(), true);
        break;
      case '--timeout':
        args.timeoutSeconds = positiveNumber('--timeout', value(), false);
        break;
      case '--ml100k':
        args.ml100kFolder = value();
        break;
      case '--threads': {
        const counts = value()
          .split(',')
          .map((t) => positiveNumber('--threads', t.trim(), true));
        if (new Set(counts).size !== counts.length) throw new BenchUsageError('--threads lists a count twice');
        args.threads = counts;
        break;
      }
      case '--score-users': {
        const raw = value();
        args.scoreUsers = raw === 'all' ? 'all' : positiveNumber('--score-users', raw, true);
        break;
      }
      default:
        throw new BenchUsageError(`unknown argument "${arg}"`);
    }
  }
  return args;
}
