/**
 * The real server (`scripts/start.ts`) as a child process, for the load test and the benchmark: a separate
 * process, so the load generator does not share the server's event loop (or its cores' time slices).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerProcess {
  child: ChildProcess;
  /** The URL the server printed once listening. */
  url: Promise<string>;
}

/** Resolves with the URL a child prints as `listening on <url>` on its stdout. */
export function urlOf(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (code ${code}) before listening`)));
    child.once('error', reject);
  });
}

/**
 * `npm start` over `dbPath` on 127.0.0.1 and a free port, without rate limits (a load generator is one
 * client), plus `flags`. Its stderr (seeding, training, swaps) shows on ours.
 */
export function spawnServer(dbPath: string, flags: readonly string[] = [], nodeFlags: readonly string[] = []): ServerProcess {
  const args = ['--db', dbPath, '--port', '0', '--host', '127.0.0.1', '--write-rate-limit', '0', '--visitor-rate-limit', '0', ...flags];
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(root, 'scripts/start.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { child, url: urlOf(child, 'the server') };
}

/** SIGTERM (the server finishes requests in flight and closes its database), and wait for the exit. */
export async function stopProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
