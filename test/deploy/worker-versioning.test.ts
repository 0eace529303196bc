/**
 * Upgrading workers without breaking running campaigns (Temporal Worker Versioning), exactly as README's
 * Production section says: workers announce a deployment name and build id; `temporal worker deployment
 * set-current-version` makes a new build current; a workflow started on the old build stays pinned to it and
 * finishes there, while new workflows run on the new build.
 */
import { execFileSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import type { CalculationInput } from '../../src/domain/calculation.ts';
import { sleep } from '../../src/process.ts';
import { createWorker, loadWorkerDeployment, type CrystalMathWorker } from '../../src/worker.ts';
import { connectTestEnv, testSettings, workflowBundle } from '../support/temporal.ts';

const si = (mesh: number): CalculationInput => ({ code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast', kpoints: { mesh: [mesh, mesh, mesh] } });

describe('Worker Versioning: a new build takes over, old workflows finish on the old one', () => {
  const settings = testSettings('versioning');
  const deploymentName = `crystalmath-test-${Date.now().toString(36)}`;
  const running: { worker: CrystalMathWorker; done: Promise<void> }[] = [];
  let env: TestWorkflowEnvironment | undefined;
  afterAll(async () => {
    for (const r of running) r.worker.shutdown();
    await Promise.all(running.map((r) => r.done.catch(() => undefined)));
    await env?.teardown();
  });

  async function startBuild(buildId: string) {
    const { worker } = await createWorker({
      settings,
      connection: env!.nativeConnection,
      workflowBundle: await workflowBundle(),
      clusters: ['local'],
      deployment: { deploymentName, buildId, behavior: 'pinned' },
    });
    running.push({ worker, done: worker.run() });
  }

  /** The documented command; retried while the new version's pollers are still being registered. */
  async function setCurrent(buildId: string) {
    for (let i = 0; ; i++) {
      try {
        execFileSync(inject('temporalBinary'), ['worker', 'deployment', 'set-current-version', '--address', settings.temporalAddress, '--deployment-name', deploymentName, '--build-id', buildId, '--yes'], { stdio: 'pipe' });
        return;
      } catch (e) {
        if (i > 50) throw e;
        await sleep(200);
      }
    }
  }

  async function versionOf(workflowId: string) {
    const d = await env!.client.workflow.getHandle(workflowId).describe();
    const info = d.raw.workflowExecutionInfo?.versioningInfo;
    return { buildId: info?.deploymentVersion?.buildId, behavior: info?.behavior };
  }

  it('pinned workflows finish on the build that started them; new ones run on the current build', async () => {
    env = await connectTestEnv();
    await startBuild('release-1');
    await setCurrent('release-1');
    const old = await startCalculation(env.client, si(8), { taskQueue: settings.taskQueue });
    for (let i = 0; i < 100 && (await versionOf(old.workflowId)).buildId === undefined; i++) await sleep(100);

    await startBuild('release-2');
    await setCurrent('release-2');
    expect((await old.describe()).status.name).toBe('RUNNING'); // the takeover happens mid-run
    const fresh = await startCalculation(env.client, si(2), { taskQueue: settings.taskQueue });

    const [oldResult, freshResult] = await Promise.all([calculationResult(old), calculationResult(fresh)]);
    expect(oldResult.ok && freshResult.ok).toBe(true);
    expect(await versionOf(old.workflowId)).toEqual({ buildId: 'release-1', behavior: 1 /* VERSIONING_BEHAVIOR_PINNED */ });
    expect(await versionOf(fresh.workflowId)).toEqual({ buildId: 'release-2', behavior: 1 });
    // The old workflow's every workflow task ran on release-1, including those after release-2 became current.
    const history = await old.fetchHistory();
    const builds = new Set(
      history.events!.filter((e) => e.workflowTaskCompletedEventAttributes).map((e) => e.workflowTaskCompletedEventAttributes!.deploymentVersion?.buildId),
    );
    expect([...builds]).toEqual(['release-1']);
  });

  it('deployment settings come from TEMPORAL_DEPLOYMENT_NAME / TEMPORAL_WORKER_BUILD_ID, errors name the variable', () => {
    expect(loadWorkerDeployment({})).toBeNull();
    expect(loadWorkerDeployment({ TEMPORAL_DEPLOYMENT_NAME: 'crystalmath', TEMPORAL_WORKER_BUILD_ID: '0.2.0' })).toEqual({ deploymentName: 'crystalmath', buildId: '0.2.0', behavior: 'pinned' });
    expect(() => loadWorkerDeployment({ TEMPORAL_DEPLOYMENT_NAME: 'crystalmath' })).toThrow(/TEMPORAL_WORKER_BUILD_ID: /);
    expect(() => loadWorkerDeployment({ TEMPORAL_WORKER_BUILD_ID: '1' })).toThrow(/TEMPORAL_DEPLOYMENT_NAME is not/);
    expect(() => loadWorkerDeployment({ TEMPORAL_DEPLOYMENT_NAME: 'a b', TEMPORAL_WORKER_BUILD_ID: '1' })).toThrow(/TEMPORAL_DEPLOYMENT_NAME: letters/);
    expect(() => loadWorkerDeployment({ TEMPORAL_DEPLOYMENT_NAME: 'a', TEMPORAL_WORKER_BUILD_ID: '1', CRYSTALMATH_VERSIONING_BEHAVIOR: 'sometimes' })).toThrow(/CRYSTALMATH_VERSIONING_BEHAVIOR/);
  });
});
