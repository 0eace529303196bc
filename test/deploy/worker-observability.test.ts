/**
 * What an operator sees of a worker process: JSON log lines where every line an activity writes carries the
 * workflow id, run id, step and cluster; the SDK runtime's Prometheus metrics on the opt-in address.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { sleep } from '../../src/process.ts';
import { freePort } from '../support/ports.ts';
import { connectTestEnv, testSettings } from '../support/temporal.ts';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

describe('worker logs and metrics', () => {
  const settings = testSettings('observability');
  let worker: WorkerProcess | undefined;
  let env: TestWorkflowEnvironment | undefined;
  afterAll(async () => {
    worker?.kill();
    await env?.teardown();
  });

  it('JSON lines with workflow id, run id, step and cluster on every activity line; Prometheus metrics', async () => {
    const metricsPort = await freePort();
    worker = startWorkerProcess(settings, 'json', {
      args: ['--log-format', 'json', '--metrics-address', `127.0.0.1:${metricsPort}`],
      env: { CRYSTALMATH_WORKER_CLUSTERS: 'local' },
    });
    env = await connectTestEnv();
    const handle = await startCalculation(
      env.client,
      { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast', kpoints: { mesh: [2, 2, 2] } },
      { taskQueue: settings.taskQueue },
    );
    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    const runId = (await handle.describe()).runId;

    const lines = worker.log().trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>); // throws on any non-JSON line
    expect(records.map((r) => r.message)).toContainEqual(expect.stringMatching(/^CrystalMath worker on .*metrics http:\/\/127\.0\.0\.1:\d+\/metrics/));
    const activityLines = records.filter((r) => r.activityType !== undefined);
    expect(activityLines.map((r) => r.activityType)).toEqual(expect.arrayContaining(['prepareCalculation', 'startJob', 'waitForJob', 'parseCalculation']));
    for (const r of activityLines) {
      expect(r).toMatchObject({ workflowId: handle.workflowId, workflowRunId: runId, step: 'pw', cluster: 'local' });
      expect(typeof r.time).toBe('string');
      expect(typeof r.level).toBe('string');
    }
    expect(activityLines.map((r) => r.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^job .* ended: completed, exit status 0/), expect.stringMatching(/^parsed attempt 1: exit code 0/)]),
    );

    // The SDK's own metrics, scraped as Prometheus would.
    let body = '';
    for (let i = 0; i < 50 && !/temporal_activity_execution_latency/.test(body); i++) {
      body = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
      if (!/temporal_activity_execution_latency/.test(body)) await sleep(200);
    }
    expect(body).toMatch(/temporal_activity_execution_latency\w*\{[^}]*activity_type="parseCalculation"/);
    expect(body).toMatch(/temporal_workflow_completed\{[^}]*workflow_type="calculation"/);
  });

  it('bad settings are refused, naming the variable', async () => {
    const w = startWorkerProcess(settings, 'bad', { args: ['--log-format', 'xml'] });
    for (let i = 0; i < 100 && w.child.exitCode === null; i++) await sleep(100);
    expect(w.child.exitCode).toBe(2);
    expect(w.log()).toMatch(/CRYSTALMATH_LOG_FORMAT: Invalid option: expected one of "text"\|"json"/);
  });
});
