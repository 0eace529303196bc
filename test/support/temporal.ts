/** Helpers for tests that run workflows on the suite's real Temporal dev server. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.ts';
import { inject } from 'vitest';
import type { Settings } from '../../src/settings.ts';
import { WORKFLOWS_PATH } from '../../src/worker.ts';

// Workers log state changes at INFO; tests only want warnings and errors.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  /* already installed in this process */
}

export async function connectTestEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress'), namespace: 'default' });
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();
/** The workflow bundle of an entry (default: CrystalMath's workflows), built once per test file (bundling takes a few seconds). */
export function workflowBundle(workflowsPath: string = WORKFLOWS_PATH): Promise<WorkflowBundleWithSourceMap> {
  let bundle = bundles.get(workflowsPath);
  if (!bundle) bundles.set(workflowsPath, (bundle = bundleWorkflowCode({ workflowsPath, logger: quietLogger })));
  return bundle;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

/** Settings for one test: its own data directories and task queue, on the suite's server. */
export function testSettings(name: string, address = inject('temporalAddress')): Settings {
  const dataDir = mkdtempSync(join(tmpdir(), `crystalmath-${name}-`));
  return {
    dataDir,
    temporalAddress: address,
    namespace: 'default',
    taskQueue: `test-${name}-${Math.random().toString(36).slice(2, 8)}`,
    pseudoRoot: join(dataDir, 'pseudos'),
    workRoot: join(dataDir, 'work'),
    artifactRoot: join(dataDir, 'artifacts'),
  };
}

/**
 * A worker with the real activities on the suite's server for one test file: start in beforeAll, stop in afterAll.
 * `workflowsPath`: another bundle entry (e.g. one that registers a code of its own first).
 */
export async function startTestWorker(settings: Settings, opts: { workflowsPath?: string } = {}): Promise<{ env: TestWorkflowEnvironment; stop: () => Promise<void> }> {
  const env = await connectTestEnv();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    workflowBundle: await workflowBundle(opts.workflowsPath),
    activities: createActivities(settings),
  });
  const running = worker.run();
  return {
    env,
    stop: async () => {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
