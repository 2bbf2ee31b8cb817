/**
 * A database locked by another connection. SQLite reports it as SQLITE_BUSY (another connection holds the
 * write lock longer than our busy timeout, or our read snapshot went stale before a write: SQLITE_BUSY_SNAPSHOT)
 * or SQLITE_LOCKED. Neither is a bug: the same call succeeds once the other writer commits.
 */

/** True for an error meaning "another connection holds the lock; try again later". */
export function isDatabaseBusy(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** node-postgres / network codes meaning "the database server cannot be reached or is restarting". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/**
 * PostgreSQL SQLSTATEs of the same: connection exceptions (08…), operator intervention (57P01 admin
 * shutdown, 57P02 crash shutdown, 57P03 cannot connect now), too many connections (53300), a statement
 * cancelled by statement_timeout (57014), and serialization failures or deadlocks (40001, 40P01: the
 * same call succeeds when tried again).
 */
const UNAVAILABLE_STATES = /^(08...|57P0[123]|53300|57014|40001|40P01)$/;
/** node-postgres's own messages for a connection that broke or never came, or a query it gave up on. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended unexpectedly/;

/**
 * True for an error meaning "the database is unreachable or busy right now; the same request later will
 * do": SQLite's lock errors (isDatabaseBusy) and a PostgreSQL server that is down, restarting, overloaded
 * or too slow. The server answers it 503 with Retry-After, never 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (isDatabaseBusy(err)) return true;
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || UNAVAILABLE_STATES.test(code))) return true;
  if (err instanceof AggregateError && err.errors.some(isDatabaseUnavailable)) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
}

export interface BusyRetryOptions {
  /** Attempts in all, the first included (default 12). */
  attempts?: number;
  /** Wait before the second attempt; doubles after each failure up to `maxDelayMs` (default 500). */
  initialDelayMs?: number;
  /** Longest wait between two attempts (default 5000). */
  maxDelayMs?: number;
  /**
   * Longest time spent waiting over all attempts (default: no bound but `attempts`): the last wait is
   * shortened to fit, and once it is used up the busy error is thrown.
   */
  maxTotalDelayMs?: number;
  /** Told before each wait: which attempt failed and how long until the next. */
  onWait?: (attempt: number, attempts: number, delayMs: number) => void;
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `work` until it does not fail with a busy database, waiting between attempts (exponential backoff).
 * Any other error, or busy after the last attempt, is thrown as it is. `work` must be a whole transaction
 * (all or nothing), so that running it again is safe.
 */
export async function retryWhileBusy<T>(work: () => T | Promise<T>, options: BusyRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 12;
  const maxDelay = options.maxDelayMs ?? 5000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxTotal = options.maxTotalDelayMs ?? Infinity;
  let delay = options.initialDelayMs ?? 500;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const wait = Math.min(delay, maxTotal - waited);
      if (!isDatabaseBusy(err) || attempt >= attempts || wait <= 0) throw err;
      options.onWait?.(attempt, attempts, wait);
      await sleep(wait);
      waited += wait;
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}
