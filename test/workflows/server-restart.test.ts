/**
 * Durability: the Temporal dev server is killed in the middle of a calculation and started again on the same
 * SQLite file. The workflow completes with its history intact, and pw.x ran exactly once.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../src/activities/index.ts';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { startDevServer, type DevServer } from '../../src/devserver.ts';
import { jobDirParts } from '../../src/domain/jobs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { killGroup, sleep } from '../../src/process.ts';
import { freePort } from '../support/ports.ts';
import { testSettings, workflowBundle } from '../support/temporal.ts';
import { pwOutputs } from '../support/pw-results.ts';

describe('a dev-server restart in the middle of a workflow', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('completes the workflow with its history intact and one pw.x run', async () => {
    const port = await freePort();
    const settings = testSettings('restart', `127.0.0.1:${port}`);
    const serverOptions = {
      binary: inject('temporalBinary'),
      dbFile: join(settings.dataDir, 'temporal.db'),
      logFile: join(settings.dataDir, 'server.log'),
      port,
      startTimeoutSeconds: 60,
    };
    let server: DevServer = await startDevServer(serverOptions);
    cleanups.push(() => server.stop());

    const nativeConnection = await NativeConnection.connect({ address: server.address });
    cleanups.push(() => nativeConnection.close());
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: settings.taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities(settings),
    });
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running;
    });
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    // A denser k-mesh and higher cutoff than a quick test needs, so the job runs for a few seconds.
    const handle = await startCalculation(
      client,
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

    // Wait until pw.x is running, then kill the server hard (SIGKILL: no clean shutdown).
    const jobDir = join(settings.workRoot, ...jobDirParts(handle.workflowId, 'pw', 1));
    const pidFile = join(jobDir, '.crystalmath', 'pid');
    for (let i = 0; i < 600 && !existsSync(pidFile); i++) await sleep(50);
    expect(existsSync(pidFile)).toBe(true);
    const exitFile = join(jobDir, '.crystalmath', 'exit_status');
    expect(existsSync(exitFile)).toBe(false); // still running when the server goes away
    killGroup(server.pid, 'SIGKILL');
    await sleep(3000);

    server = await startDevServer(serverOptions);
    const result = await calculationResult(handle);

    expect(result.ok).toBe(true);
    const pwOut = readFileSync(join(jobDir, 'pw.out'), 'utf8');
    const printed = [...pwOut.matchAll(/^!\s+total energy\s+=\s+(-?\d+\.\d+) Ry/gm)].map((m) => Number(m[1]));
    expect(pwOutputs(result).totalEnergyRy).toBe(printed.at(-1));
    // Exactly one run: one program banner in the output, one attempt directory.
    expect(pwOut.match(/Program PWSCF/g)).toHaveLength(1);
    expect(readdirSync(join(settings.workRoot, ...jobDirParts(handle.workflowId, 'pw', 1).slice(0, 2)))).toEqual(['1']);

    // History intact: it still starts with the original start event and holds every step.
    const history = await handle.fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    expect(history.events?.[0]?.workflowExecutionStartedEventAttributes).toBeTruthy();
    const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(scheduled).toEqual(['localHostTaskQueue', 'prepareCalculation', 'startJob', 'waitForJob', 'parseCalculation']);
    expect(types.length).toBeGreaterThan(10);
  });
});
