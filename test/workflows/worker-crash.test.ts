/**
 * Durability of a local job: the worker process is SIGKILLed while pw.x runs. pw.x keeps running (it is its
 * own process group); a new worker adopts it through the job's pid file instead of starting a second run,
 * and the workflow completes with one pw.x run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { alive, killGroup, sleep } from '../../src/process.ts';
import { REPO_ROOT } from '../../src/settings.ts';
import { connectTestEnv, testSettings } from '../support/temporal.ts';

describe('a worker killed while its job runs', () => {
  const settings = testSettings('crash');
  const workers: ChildProcess[] = [];
  let env: TestWorkflowEnvironment | undefined;
  afterAll(async () => {
    for (const w of workers) if (w.pid && alive(w.pid)) killGroup(w.pid, 'SIGKILL');
    await env?.teardown();
  });

  /** A real worker process, as a user runs it (`crystalmath worker`), on this test's data dir and task queue. */
  function startWorkerProcess(tag: string): ChildProcess {
    const log = openSync(join(settings.dataDir, `worker-${tag}.log`), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'worker.ts')], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, TEMPORAL_ADDRESS: settings.temporalAddress, CRYSTALMATH_TASK_QUEUE: settings.taskQueue, CRYSTALMATH_HOME: settings.dataDir },
    });
    workers.push(child);
    return child;
  }

  it('adopts the running pw.x and completes with exactly one run', async () => {
    env = await connectTestEnv();
    const first = startWorkerProcess('first');
    const handle = await startCalculation(
      env.client,
      {
        code: 'qe-pw',
        structure: builtinStructure('Si')!,
        calculation: 'scf',
        protocol: 'fast',
        kpoints: { mesh: [10, 10, 10] },
        parameters: { system: { ecutwfc: 40, ecutrho: 160 } },
      },
      { taskQueue: settings.taskQueue },
    );
    const jobDir = join(settings.workRoot, handle.workflowId, 'pw', '1');
    const pidFile = join(jobDir, '.crystalmath', 'pid');
    for (let i = 0; i < 1200 && !existsSync(pidFile); i++) await sleep(50);
    const jobPid = Number(readFileSync(pidFile, 'utf8'));
    // Kill while the worker watches the job (waitForJob running), the case this test is about.
    const watching = async () => {
      const d = await handle.describe();
      return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'waitForJob' && a.state === 2 /* PENDING_ACTIVITY_STATE_STARTED */);
    };
    for (let i = 0; i < 200 && !(await watching()); i++) await sleep(50);
    expect(await watching()).toBe(true);

    killGroup(first.pid!, 'SIGKILL');
    await sleep(500);
    expect(alive(first.pid!)).toBe(false);
    expect(alive(jobPid)).toBe(true); // the job outlives its worker

    startWorkerProcess('second');
    const result = await calculationResult(handle);

    expect(result.ok).toBe(true);
    const pwOut = readFileSync(join(jobDir, 'pw.out'), 'utf8');
    expect(pwOut.match(/Program PWSCF/g)).toHaveLength(1);
    expect(readdirSync(join(settings.workRoot, handle.workflowId, 'pw'))).toEqual(['1']);
    expect(result.attempts).toHaveLength(1);
    // waitForJob ran more than once (the first attempt died with its worker), on the same job.
    const history = await handle.fetchHistory();
    const waitStarts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1);
    expect(waitStarts.length).toBeGreaterThan(0);
  });
});
