/**
 * A CrystalMath worker: serves the workflows and the activities on one task queue.
 * Run it with `crystalmath worker` (or `npm run worker`); settings come from the environment (see settings.ts).
 */
import { createRequire } from 'node:module';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/index.ts';
import { loadSettings, type Settings } from './settings.ts';

const require = createRequire(import.meta.url);
export const WORKFLOWS_PATH = require.resolve('./workflows/index.ts');

export interface CreateWorkerOptions {
  settings?: Settings;
  connection?: NativeConnection;
  /** A pre-built bundle (tests build it once); otherwise the workflows are bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export async function createWorker(opts: CreateWorkerOptions = {}): Promise<{ worker: Worker; connection: NativeConnection; ownsConnection: boolean }> {
  const settings = opts.settings ?? loadSettings();
  const connection = opts.connection ?? (await NativeConnection.connect({ address: settings.temporalAddress }));
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities: createActivities(settings),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  return { worker, connection, ownsConnection: !opts.connection };
}

/** Runs a worker until SIGINT / SIGTERM. */
export async function runWorker(settings: Settings = loadSettings()): Promise<void> {
  const { worker, connection } = await createWorker({ settings });
  console.log(`CrystalMath worker: task queue "${settings.taskQueue}" on ${settings.temporalAddress} (namespace ${settings.namespace})`);
  try {
    await worker.run(); // the SDK shuts down gracefully on SIGINT / SIGTERM
  } finally {
    await connection.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runWorker().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
