/**
 * The benchmark's parent: runs each case in its own child process (so each peak RSS is the case's own),
 * streams the children's progress to stderr, prints one JSON line per finished case and the tables to
 * stdout, and writes the JSON report.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchArgs } from './args.js';
import { buildReport, casesTable, formatSeconds, targetsTable, threadsTable, type BenchReport } from './report.js';
import { THREAD_ROUNDS, type CaseOutcome, type ChildMessage, type StageEvent } from './types.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Node flags that let the child load TypeScript: the parent's own tsx loader, or tsx's. */
function childExecArgv(): string[] {
  if (process.execArgv.some((a) => a.includes('tsx'))) return [...process.execArgv];
  return ['--import', import.meta.resolve('tsx')];
}

export interface RunIo {
  out: (text: string) => void;
  progress: (text: string) => void;
}

const defaultIo: RunIo = {
  out: (text) => process.stdout.write(text),
  progress: (text) => process.stderr.write(text),
};

function runChild(name: string, args: BenchArgs, io: RunIo): Promise<CaseOutcome> {
  const started = performance.now();
  const stages: StageEvent[] = [];
  const elapsed = (): number => (performance.now() - started) / 1000;
  return new Promise((resolve) => {
    const child = fork(
      WORKER,
      [
        name,
        args.epochs === null ? '-' : String(args.epochs),
        args.ml100kFolder ?? '',
        String(args.scoreUsers ?? ''),
        args.threads.join(','),
      ],
      {
        execArgv: childExecArgv(),
        // The child's own output (warnings, tfjs notices) goes to our stderr: stdout stays the report.
        stdio: ['ignore', 2, 2, 'ipc'],
      },
    );
    let result: CaseOutcome['result'] = null;
    let error: string | null = null;
    let timedOut = false;
    const timer =
      args.timeoutSeconds === null
        ? null
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, args.timeoutSeconds * 1000);
    child.on('message', (raw) => {
      const message = raw as ChildMessage;
      if (message.type === 'stage') {
        stages.push(message.event);
        const e = message.event;
        const cpu = typeof e.detail?.cpuSeconds === 'number' ? `, cpu ${formatSeconds(e.detail.cpuSeconds)} s` : '';
        io.progress(`[${name}] ${e.stage}: ${formatSeconds(e.seconds)} s${cpu} (RSS ${e.rssMB.toFixed(0)} MiB)\n`);
      } else if (message.type === 'result') {
        result = message.result;
      } else {
        error = message.message;
        if (message.stack) io.progress(`[${name}] ${message.stack}\n`);
      }
    });
    child.on('error', (err) => {
      error ??= `could not start the child process: ${err.message}`;
    });
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      const wallSeconds = elapsed();
      if (!result && !error) {
        const last = stages.at(-1);
        const where = last ? `after stage "${last.stage}" (RSS ${last.rssMB.toFixed(0)} MiB)` : 'before its first stage';
        error = timedOut
          ? `stopped by --timeout after ${formatSeconds(wallSeconds)} s, ${where}`
          : `child exited (${signal ? `signal ${signal}${signal === 'SIGKILL' ? ', possibly out of memory' : ''}` : `code ${code}`}) ${where}`;
      }
      resolve({ name, result: result ? { ...result, wallSeconds } : null, error: result ? null : error, stages, wallSeconds });
    });
  });
}

function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    totalMemoryMB: Math.round(os.totalmem() / (1024 * 1024)),
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export async function runBench(args: BenchArgs, io: RunIo = defaultIo): Promise<BenchReport> {
  const machine = machineInfo();
  io.progress(
    `bench: ${args.cases.join(', ')} on ${machine.cpus} CPUs, load average ${(machine.loadAverageAtStart as number[]).join(' ')}\n`,
  );
  const outcomes: CaseOutcome[] = [];
  for (const name of args.cases) {
    const outcome = await runChild(name, args, io);
    outcomes.push(outcome);
    // One JSON line per case as it completes, for scripts that compare runs.
    io.out(
      `${JSON.stringify(outcome.result ?? { name, error: outcome.error, wallSeconds: outcome.wallSeconds, stages: outcome.stages })}\n`,
    );
  }
  machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);

  let backend: string | null = outcomes.find((o) => o.result?.scoring)?.result?.scoring?.backend ?? null;
  if (backend === null) {
    // No case scored: name the backend scoring would use here.
    const { initBackend } = await import('../rbm/backend.js');
    backend = await initBackend().catch(() => null);
  }
  const report = buildReport(outcomes, backend, machine);

  io.out(`\n${casesTable(outcomes)}\n`);
  const threads = threadsTable(outcomes);
  if (threads)
    io.out(
      `\nepochs by threads (seconds per epoch, wall clock: the median of the steady epochs of ${THREAD_ROUNDS} runs per count, the counts taking turns; speedup over the first count; implicit = the implicit RBM's epoch with its validation pass):\n${threads}\n`,
    );
  const scoring = report.scoring;
  if (scoring.ml100kAllPairsSeconds !== null) {
    io.out(
      `\nscoring (${backend}): ML-100K all ${scoring.users} users × ${scoring.items} items in ` +
        `${formatSeconds(scoring.ml100kAllPairsSeconds)} s (warm ${formatSeconds(scoring.warmSeconds as number)} s, ` +
        `backend init ${formatSeconds(scoring.backendInitSeconds as number)} s, block ${scoring.blockSize} users, ` +
        `leaked tensors ${scoring.leakedTensors})\n`,
    );
  }
  io.out(`\n${targetsTable(report.targets)}\n`);
  io.out(
    `\ns/epoch = user-RBM epoch + item-RBM epoch (the default model trains both), wall clock, mean of the timed epochs after the first (with several --threads counts: the median of the interleaved runs' steady epochs); ` +
      `cpu s/ep = the same in process CPU seconds (steadier on a loaded machine); targets use wall clock; ` +
      `load average ${(machine.loadAverageAtStart as number[]).join(' ')} → ${(machine.loadAverageAtEnd as number[]).join(' ')} on ${machine.cpus} CPUs\n`,
  );
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    io.out(`wrote ${args.json}\n`);
  }
  return report;
}
