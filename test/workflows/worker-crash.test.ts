/**
 * Durability of a local job: the worker process is SIGKILLed while pw.x runs. pw.x keeps running (it is its
 * own process group); a new worker adopts it through the job's pid file instead of starting a second run,
 * and the workflow completes with one pw.x run.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { jobDirParts } from '../../src/domain/jobs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { alive, sleep } from '../../src/process.ts';
import { connectTestEnv, testSettings } from '../support/temporal.ts';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

describe('a worker killed while its job runs', () => {
  const settings = testSettings('crash');
  const workers: WorkerProcess[] = [];
  let env: TestWorkflowEnvironment | undefined;
  afterAll(async () => {
    for (const w of workers) w.kill();
    await env?.teardown();
  });

  const start = (tag: string) => {
    const w = startWorkerProcess(settings, tag);
    workers.push(w);
    return w;
  };

  it('adopts the running pw.x and completes with exactly one run', async () => {
    env = await connectTestEnv();
    const first = start('first');
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
    const jobDir = join(settings.workRoot, ...jobDirParts(handle.workflowId, 'pw', 1));
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

    first.kill();
    await sleep(500);
    expect(alive(first.pid)).toBe(false);
    expect(alive(jobPid)).toBe(true); // the job outlives its worker

    start('second');
    const result = await calculationResult(handle);

    expect(result.ok).toBe(true);
    const pwOut = readFileSync(join(jobDir, 'pw.out'), 'utf8');
    expect(pwOut.match(/Program PWSCF/g)).toHaveLength(1);
    expect(readdirSync(join(settings.workRoot, ...jobDirParts(handle.workflowId, 'pw', 1).slice(0, 2)))).toEqual(['1']);
    expect(result.attempts).toHaveLength(1);
    // waitForJob ran more than once (the first attempt died with its worker), on the same job.
    const history = await handle.fetchHistory();
    const waitStarts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1);
    expect(waitStarts.length).toBeGreaterThan(0);
  });
});
