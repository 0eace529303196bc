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
import { hostname } from 'node:os';
import { NativeConnection, Runtime, Worker, type WorkerDeploymentOptions, type WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';
import { createActivities } from './activities/index.ts';
import { profileDirsFor } from './activities/scheduler/profiles.ts';
import { closeAllTransports } from './activities/transport/index.ts';
import { EXAMPLE_CLUSTERS_DIR, listClusterProfiles } from './clusters/loader.ts';
import { CLUSTER_NAME_RE } from './domain/cluster-profile.ts';
import { clusterTaskQueue, hostIdOf, hostTaskQueue, LOCAL_CLUSTER } from './domain/jobs.ts';
import { loadSettings, temporalConnectionOf, type Settings } from './settings.ts';
import { activityLogInterceptor, installRuntime, loadObservabilitySettings } from './observability.ts';
import { connectNativeConnection, describeTemporalConnection, TemporalSettingsError } from './temporal-connection.ts';

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
  /** Worker Versioning: the deployment and build this worker announces (default from the environment, see `loadWorkerDeployment`). */
  deployment?: WorkerDeployment | null;
  /** Extra Worker options for every queue (e.g. concurrency limits). */
  workerOptions?: Partial<Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows'>>;
}

/**
 * Worker Versioning (Temporal worker deployments), opt-in with the variables Temporal's own tooling (the
 * worker controller) sets: TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID. Workflows are PINNED by
 * default: a calculation that runs for days finishes on the build that started it, while new ones go to the
 * deployment's current version (`temporal worker deployment set-current-version`). See README, Production.
 */
const WorkerDeploymentSchema = z.object({
  deploymentName: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
  buildId: z.string().regex(/^[A-Za-z0-9._+-]+$/, 'letters, digits, ".", "_", "+" and "-" only'),
  behavior: z.enum(['pinned', 'auto-upgrade']).default('pinned'),
});
export type WorkerDeployment = z.infer<typeof WorkerDeploymentSchema>;

export function loadWorkerDeployment(env: NodeJS.ProcessEnv = process.env): WorkerDeployment | null {
  const name = env.TEMPORAL_DEPLOYMENT_NAME;
  if (!name) {
    if (env.TEMPORAL_WORKER_BUILD_ID) throw new TemporalSettingsError('TEMPORAL_WORKER_BUILD_ID is set but TEMPORAL_DEPLOYMENT_NAME is not: set both to use Worker Versioning');
    return null;
  }
  const names: Record<string, string> = { deploymentName: 'TEMPORAL_DEPLOYMENT_NAME', buildId: 'TEMPORAL_WORKER_BUILD_ID', behavior: 'CRYSTALMATH_VERSIONING_BEHAVIOR' };
  const parsed = WorkerDeploymentSchema.safeParse({ deploymentName: name, buildId: env.TEMPORAL_WORKER_BUILD_ID, behavior: env.CRYSTALMATH_VERSIONING_BEHAVIOR || undefined });
  if (!parsed.success) throw new TemporalSettingsError(parsed.error.issues.map((i) => `${names[String(i.path[0])]}: ${i.message}`).join('; '));
  return parsed.data;
}

function deploymentOptions(d: WorkerDeployment | null): WorkerDeploymentOptions | undefined {
  if (!d) return undefined;
  return {
    version: { deploymentName: d.deploymentName, buildId: d.buildId },
    useWorkerVersioning: true,
    defaultVersioningBehavior: d.behavior === 'pinned' ? 'PINNED' : 'AUTO_UPGRADE',
  };
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
  const serveLocal = clusters.includes(LOCAL_CLUSTER);
  const hostQueue = serveLocal ? hostTaskQueue(settings.taskQueue, hostIdOf(process.env.CRYSTALMATH_HOST_ID || hostname())) : undefined;
  const activities = createActivities(settings, { clusterDirs: dirs, ...(hostQueue ? { hostTaskQueue: hostQueue } : {}) });
  const workerDeploymentOptions = deploymentOptions(opts.deployment === undefined ? loadWorkerDeployment() : opts.deployment);
  const workers: { cluster: string; taskQueue: string; worker: Worker }[] = [];
  // The local cluster's queue (workflows too), this host's queue for local jobs, then one queue per cluster.
  const queues = clusters.flatMap((cluster) => {
    const q = { cluster, taskQueue: clusterTaskQueue(settings.taskQueue, cluster), withWorkflows: cluster === LOCAL_CLUSTER };
    return cluster === LOCAL_CLUSTER && hostQueue ? [q, { cluster, taskQueue: hostQueue, withWorkflows: false }] : [q];
  });
  for (const { cluster, taskQueue, withWorkflows } of queues) {
    const worker = await Worker.create({
      connection,
      namespace: settings.namespace,
      taskQueue,
      activities,
      interceptors: { activity: [activityLogInterceptor] },
      ...(workerDeploymentOptions ? { workerDeploymentOptions } : {}),
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
  const { metricsUrl } = installRuntime(loadObservabilitySettings());
  const deployment = loadWorkerDeployment();
  const { worker, connection } = await createWorker({ settings, deployment });
  const version = deployment ? `, deployment ${deployment.deploymentName} build ${deployment.buildId} (${deployment.behavior})` : '';
  // Through the SDK's logger, so it is a JSON line too when the logs are JSON.
  Runtime.instance().logger.info(
    `CrystalMath worker on ${describeTemporalConnection(temporalConnectionOf(settings))}: task queues ${worker.taskQueues.map((q) => `"${q}"`).join(', ')}${version}${metricsUrl ? `; metrics ${metricsUrl}` : ''}`,
    { taskQueues: worker.taskQueues, ...(deployment ? { deploymentName: deployment.deploymentName, buildId: deployment.buildId } : {}) },
  );
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
