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
export async function retryWhileBusy<T>(work: () => T, options: BusyRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 12;
  const maxDelay = options.maxDelayMs ?? 5000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxTotal = options.maxTotalDelayMs ?? Infinity;
  let delay = options.initialDelayMs ?? 500;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return work();
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
