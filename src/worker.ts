/**
 * A CrystalMath worker: serves the workflows and the `local` activities on its task queue, and the activities
 * of each cluster it serves on that cluster's queue (`<task queue>-<cluster>`, see `clusterTaskQueue`).
 * Run it with `crystalmath worker` (or `npm run worker`); settings come from the environment (see settings.ts);
 * the Temporal connection from Temporal's own environment configuration (see temporal-connection.ts).
 *
 * Which clusters: `CRYSTALMATH_WORKER_CLUSTERS` (or the `clusters` option), a comma-separated list of profile
 * names; `local` in it means the worker's own queue (workflows + the local executor); `*` means every profile
 * found. Default: `local` plus every profile in the user's clusters directories ($CRYSTALMATH_CLUSTERS_DIR or
 * $CRYSTALMATH_HOME/clusters; the repository's example profiles are not served by default). So one central
 * worker runs everything over SSH out of the box, and a worker on a cluster's login node started with
 * `CRYSTALMATH_WORKER_CLUSTERS=<cluster>` (and a profile of that cluster with `transport: local`) serves just
 * that cluster's queue, without SSH, and without any workflow change.
 */
import { createRequire } from 'node:module';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/index.ts';
import { profileDirsFor } from './activities/scheduler/profiles.ts';
import { closeAllTransports } from './activities/transport/index.ts';
import { EXAMPLE_CLUSTERS_DIR, listClusterProfiles } from './clusters/loader.ts';
import { CLUSTER_NAME_RE } from './clusters/schema.ts';
import { clusterTaskQueue, LOCAL_CLUSTER } from './domain/jobs.ts';
import { loadSettings, temporalConnectionOf, type Settings } from './settings.ts';
import { connectNativeConnection, describeTemporalConnection } from './temporal-connection.ts';

const require = createRequire(import.meta.url);
export const WORKFLOWS_PATH = require.resolve('./workflows/index.ts');

export interface CreateWorkerOptions {
  settings?: Settings;
  connection?: NativeConnection;
  /** A pre-built bundle (tests build it once); otherwise the workflows are bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Clusters to serve (see the module comment); default from CRYSTALMATH_WORKER_CLUSTERS, else local + all found. */
  clusters?: readonly string[];
  /** Where profiles are read (default: $CRYSTALMATH_CLUSTERS_DIR or <dataDir>/clusters, then the examples). */
  clusterDirs?: readonly string[];
  /** Extra Worker options for every queue (e.g. concurrency limits). */
  workerOptions?: Partial<Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows'>>;
}

/** The clusters a worker serves: the explicit list, else $CRYSTALMATH_WORKER_CLUSTERS, else local + profiles found. */
export function workerClusters(dirs: readonly string[], list?: readonly string[] | string, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = list ?? env.CRYSTALMATH_WORKER_CLUSTERS;
  const userDirs = dirs.filter((d) => d !== EXAMPLE_CLUSTERS_DIR);
  let names: string[];
  if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) {
    names = listClusterProfiles(userDirs);
  } else {
    const items = typeof raw === 'string' ? raw.split(/[\s,]+/).filter(Boolean) : [...raw];
    names = items.flatMap((n) => (n === '*' ? listClusterProfiles(dirs) : [n]));
  }
  for (const n of names) {
    if (!CLUSTER_NAME_RE.test(n)) throw new Error(`CRYSTALMATH_WORKER_CLUSTERS: "${n}" is not a cluster name`);
  }
  return [...new Set(names)].sort((a, b) => (a === LOCAL_CLUSTER ? -1 : b === LOCAL_CLUSTER ? 1 : a.localeCompare(b)));
}

/** Several SDK workers (one per task queue) run and stop as one. */
export class CrystalMathWorker {
  constructor(readonly workers: readonly { cluster: string; taskQueue: string; worker: Worker }[]) {}

  get taskQueues(): string[] {
    return this.workers.map((w) => w.taskQueue);
  }

  /** Runs every queue's worker until all stop; if one fails, the others are shut down and its error thrown. */
  async run(): Promise<void> {
    let failure: unknown;
    try {
      await Promise.all(
        this.workers.map((w) =>
          w.worker.run().catch((e: unknown) => {
            failure ??= e;
            this.shutdown();
          }),
        ),
      );
    } finally {
      await closeAllTransports();
    }
    if (failure) throw failure;
  }

  shutdown(): void {
    for (const w of this.workers) {
      try {
        if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
      } catch {
        /* already stopping */
      }
    }
  }
}

export async function createWorker(opts: CreateWorkerOptions = {}): Promise<{ worker: CrystalMathWorker; connection: NativeConnection; ownsConnection: boolean }> {
  const settings = opts.settings ?? loadSettings();
  const dirs = opts.clusterDirs ?? profileDirsFor(settings.dataDir);
  const clusters = workerClusters(dirs, opts.clusters);
  const connection = opts.connection ?? (await connectNativeConnection(temporalConnectionOf(settings)));
  const activities = createActivities(settings, { clusterDirs: dirs });
  const workers: { cluster: string; taskQueue: string; worker: Worker }[] = [];
  for (const cluster of clusters) {
    const taskQueue = clusterTaskQueue(settings.taskQueue, cluster);
    const withWorkflows = cluster === LOCAL_CLUSTER;
    const worker = await Worker.create({
      connection,
      namespace: settings.namespace,
      taskQueue,
      activities,
      ...opts.workerOptions,
      ...(withWorkflows ? (opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }) : {}),
    });
    workers.push({ cluster, taskQueue, worker });
  }
  if (workers.length === 0) throw new Error('the worker serves no task queue: CRYSTALMATH_WORKER_CLUSTERS names no cluster');
  return { worker: new CrystalMathWorker(workers), connection, ownsConnection: !opts.connection };
}

/** Runs a worker until SIGINT / SIGTERM. */
export async function runWorker(settings: Settings = loadSettings()): Promise<void> {
  const { worker, connection } = await createWorker({ settings });
  console.log(`CrystalMath worker on ${describeTemporalConnection(temporalConnectionOf(settings))}: task queues ${worker.taskQueues.map((q) => `"${q}"`).join(', ')}`);
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
