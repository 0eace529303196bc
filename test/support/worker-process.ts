/** Real worker processes, started as a user starts them (`crystalmath worker`), for tests that kill or watch them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, killGroup } from '../../src/process.ts';
import { REPO_ROOT, type Settings } from '../../src/settings.ts';

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  logFile: string;
  log(): string;
  kill(signal?: NodeJS.Signals): void;
}

/** A `crystalmath worker` process group on `settings` (data dir, task queue, server), logging to `<dataDir>/worker-<tag>.log`. */
export function startWorkerProcess(
  settings: Settings,
  tag: string,
  opts: { env?: Record<string, string>; args?: string[]; /** a command the worker runs under, e.g. `unshare ...` */ wrap?: string[] } = {},
): WorkerProcess {
  const logFile = join(settings.dataDir, `worker-${tag}.log`);
  const fd = openSync(logFile, 'a');
  const argv = [...(opts.wrap ?? []), process.execPath, join(REPO_ROOT, 'bin', 'crystalmath.js'), 'worker', ...(opts.args ?? [])];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: settings.temporalAddress,
      TEMPORAL_NAMESPACE: settings.namespace,
      CRYSTALMATH_TASK_QUEUE: settings.taskQueue,
      CRYSTALMATH_HOME: settings.dataDir,
      ...opts.env,
    },
  });
  const pid = child.pid!;
  return {
    child,
    pid,
    logFile,
    log: () => readFileSync(logFile, 'utf8'),
    kill: (signal = 'SIGKILL') => {
      if (alive(pid)) killGroup(pid, signal);
    },
  };
}
