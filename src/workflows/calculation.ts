/**
 * `calculation`: one code run to success or a clear failure, the PwBaseWorkChain pattern for every code:
 * prepare → start → wait → parse → decide (finish, fail, or repair and restart), up to a bound. The code
 * (its handlers, what success is, its output structure) comes from the registry by the input's `code`.
 * Every side effect is an activity; this file only decides, so a restarted worker replays it and carries on.
 *
 * Where it runs is the input's `executor`: `{ kind: 'local' }` (the worker's machine; activities on this
 * workflow's own task queue) or `{ kind: 'slurm', cluster }` (activities that touch the cluster — prepare,
 * submit, check, parse, cancel — on the cluster's task queue `<this queue>-<cluster>`, so a worker on the
 * cluster's login node can serve them without any change here). The same code runs both.
 */
import {
  type ActivityOptions,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import {
  CalculationInputSchema,
  describeZodError,
  type AttemptRecord,
  type CalculationInput,
  type CalculationResult,
  type ValidCalculationInput,
} from '../domain/calculation.ts';
import type { Code, CodeResult, RepairRecord, RestartFrom } from '../domain/codes/code.ts';
import type { CodeParameters } from '../domain/codes/parameters.ts';
import { codeById } from '../domain/codes/registry.ts';
import { clusterOf, executorTaskQueue, unstartedHandle, type JobHandle, type JobOutcome, type Resources } from '../domain/jobs.ts';
import { decideRecovery, REVIEWED_GENERIC_HANDLERS, toRepairRecord, type RecoveryContext } from '../domain/recovery/strategy.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attributes.ts';
import { cellFormula } from '../domain/structure/lattice.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { clusterActivities, runClusterJob, stagingTimeouts, stopAbandonedJob } from './cluster-jobs.ts';
import { onExecutorQueue, pinLocalExecutor } from './local-host.ts';
import { PATCHES } from './patches.ts';

/** Staging and parsing: short, retried on any infrastructure error. */
const FILE_WORK: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};

/**
 * Starting a local job: heartbeats, so a worker killed mid-start is replaced within seconds (the start is
 * idempotent: the retry adopts the process the dead worker spawned).
 */
const LOCAL_START: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};

export interface CalculationProgress {
  stage: 'validating' | 'preparing' | 'running' | 'parsing' | 'done' | 'failed' | 'cancelled';
  attempt: number;
  maxAttempts: number;
  jobId?: string;
  /** What the last repair did, e.g. "handle_electronic_convergence_not_reached: mixing_beta 0.4 → 0.32". */
  lastRepair?: string;
}
export const calculationProgressQuery = defineQuery<CalculationProgress>('progress');

export async function calculation(rawInput: CalculationInput): Promise<CalculationResult> {
  const progress: CalculationProgress = { stage: 'validating', attempt: 0, maxAttempts: 0 };
  setHandler(calculationProgressQuery, () => progress);

  const parsed = CalculationInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid calculation input: ${describeZodError(parsed.error)}`, 'InvalidCalculationInput');
  }
  const input: ValidCalculationInput = parsed.data;
  const code = codeById(input.code);
  input.executor = await pinLocalExecutor(input.executor);
  // A local job's activities: on its host's queue when pinned, else the workflow's own (histories before 0.3.0).
  const fileWork = proxyActivities<Activities>(onExecutorQueue(FILE_WORK, input.executor));
  const localStart = proxyActivities<Activities>(onExecutorQueue(LOCAL_START, input.executor));
  const { workflowId, taskQueue } = workflowInfo();
  const formula = cellFormula(input.structure);
  const cluster = clusterOf(input.executor);
  const onCluster = input.executor.kind !== 'local';
  const clusterQueue = executorTaskQueue(taskQueue, input.executor);
  const clusterWork = clusterActivities(clusterQueue);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.formula, value: formula },
    { key: SEARCH_ATTRIBUTE_KEYS.analysis, value: input.analysis },
    { key: SEARCH_ATTRIBUTE_KEYS.code, value: input.code },
    { key: SEARCH_ATTRIBUTE_KEYS.cluster, value: cluster },
  ]);
  upsertMemo({ formula, calculation: input.calculation, protocol: input.protocol, atoms: input.structure.sites.length, attempts: 0 });
  progress.maxAttempts = input.recovery.maxAttempts;

  // What a repair may change between attempts.
  let structure: Structure = input.structure;
  let overrides: CodeParameters = input.parameters;
  let resources: Resources = input.resources;
  let restart: { fromWorkDir: string; kind: RestartFrom } = input.parent
    ? { fromWorkDir: input.parent.workDir, kind: input.parent.kind }
    : { fromWorkDir: '', kind: 'scratch' };
  const attempts: AttemptRecord[] = [];
  const repairs: RepairRecord[] = [];
  const step = code.step;

  for (let attempt = 1; ; attempt++) {
    progress.attempt = attempt;
    progress.stage = 'preparing';
    const staged = restart.kind === 'scratch' ? undefined : { fromWorkDir: restart.fromWorkDir, kind: restart.kind };
    // (patched only where a parent's files are staged, so other histories carry no marker)
    const staging = staged && patched(PATCHES.stagingScalesWithJob) ? stagingTimeouts(resources.walltimeSeconds) : undefined;
    const preparer = onCluster
      ? staging ? clusterActivities(clusterQueue, staging) : clusterWork
      : staging ? proxyActivities<Activities>(onExecutorQueue({ ...FILE_WORK, ...staging }, input.executor)) : fileWork;
    const prepared = await preparer.prepareCalculation({
      input,
      structure,
      overrides,
      resources,
      workflowId,
      step,
      attempt,
      restart: staged,
    });

    // The job's watcher: heartbeats detect a dead worker in seconds; the walltime bounds the whole wait.
    const jobWait = proxyActivities<Activities>(
      onExecutorQueue(
        {
          startToCloseTimeout: `${resources.walltimeSeconds + 300} seconds`,
          heartbeatTimeout: '10 seconds',
          retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds' },
        },
        input.executor,
      ),
    );
    let handle: JobHandle | undefined;
    let outcome: JobOutcome;
    if (!onCluster) {
      try {
        progress.stage = 'running';
        handle = await localStart.startJob(prepared.job, input.executor.kind);
        progress.jobId = handle.jobId;
        outcome = await jobWait.waitForJob(handle, {});
      } catch (err) {
        if (isCancellation(err) && handle) {
          progress.stage = 'cancelled';
          const h = handle;
          await CancellationScope.nonCancellable(() => fileWork.cancelJob(h));
        } else await stopAbandonedJob(err, () => fileWork.cancelJob(handle ?? unstartedHandle(prepared.job)));
        throw err;
      }
    } else {
      try {
        progress.stage = 'running';
        outcome = await runClusterJob(clusterWork, prepared.job, resources, clusterQueue, (h) => (progress.jobId = h.jobId));
      } catch (err) {
        if (isCancellation(err)) progress.stage = 'cancelled';
        throw err;
      }
    }

    progress.stage = 'parsing';
    const parseRequest = {
      code: code.id,
      workflowId,
      step,
      attempt,
      workDir: prepared.job.workDir,
      outcome,
      parameters: prepared.parameters,
    };
    const { result, artifacts } = onCluster
      ? await clusterWork.parseCalculation({ ...parseRequest, cluster })
      : await fileWork.parseCalculation(parseRequest);

    const recoveryContext: RecoveryContext = {
      code,
      calculation: input.calculation,
      parameters: prepared.parameters,
      overrides,
      structure,
      result,
      previousRepairs: repairs,
      attempt,
      resources,
      jobState: outcome.state,
      ...(outcome.message !== undefined ? { jobMessage: outcome.message } : {}),
      // (patched only where it matters, so other histories carry no marker)
      ...(outcome.state === 'lost' && onCluster && patched(PATCHES.resubmitLostJobs) ? { lostJob: 'resubmit' as const } : {}),
    };
    let decision = decideRecovery(input.recovery, recoveryContext);
    if (decision.handler && REVIEWED_GENERIC_HANDLERS.includes(decision.handler)) {
      // (patched only where the reviewed rules decide otherwise, so other histories carry no marker)
      const reviewed = decideRecovery(input.recovery, { ...recoveryContext, genericRules: 'reviewed' });
      if (reviewed.handler !== decision.handler && patched(PATCHES.reviewedGenericRules)) decision = reviewed;
    }
    attempts.push({
      attempt,
      job: outcome,
      exitCode: result.exitCode,
      exitName: result.exitName,
      exitMessage: result.exitMessage,
      workDir: prepared.job.workDir,
      restartFrom: restart.kind,
      decision: { action: decision.action, handler: decision.handler, message: decision.message, changes: decision.changes },
      artifacts,
    });
    upsertMemo({ attempts: attempt });

    if (decision.action === 'restart') {
      repairs.push(toRepairRecord(decision));
      overrides = decision.overrides ?? overrides;
      structure = decision.structure ?? structure;
      resources = { ...resources, ...definedOnly(decision.resources) };
      restart = { fromWorkDir: prepared.job.workDir, kind: decision.restartFrom ?? 'scratch' };
      progress.lastRepair = `${decision.handler ?? 'restart'}: ${decision.message}`;
      continue;
    }

    const ok = decision.action === 'finish';
    const exitCode = ok ? (decision.exitCode ?? result.exitCode) : result.exitCode;
    const summary: CalculationResult = {
      workflowId,
      code: input.code,
      calculation: input.calculation,
      protocol: input.protocol,
      formula,
      ok,
      exitCode,
      exitName: result.exitName,
      exitMessage: ok ? result.exitMessage : decision.message,
      outputs: result,
      finalStructure: decision.structure ?? (ok ? relaxedStructure(code, input.calculation, result, structure) : structure),
      inputSummary: prepared.inputSummary,
      attempts,
      artifacts,
      remoteFolder: { host: cluster, path: prepared.job.workDir },
    };
    progress.stage = ok ? 'done' : 'failed';
    if (patched(PATCHES.outcomeInMemo)) {
      upsertMemo({ outcome: ok ? 'completed' : 'failed', exitCode, totalEnergyEv: result.totalEnergyEv ?? null });
    }
    if (!ok) {
      // The parsed result travels with the failure: nothing computed is lost.
      throw ApplicationFailure.nonRetryable(
        `${code.program} ${input.calculation} failed after ${attempt} attempt(s): ${result.exitCode} ${result.exitName}: ${decision.message}`,
        'CalculationFailed',
        summary,
      );
    }
    return summary;
  }
}

/** A relaxation's output structure (the input structure for other calculations, or when none was printed). */
function relaxedStructure(code: Code, calculation: string, result: CodeResult, start: Structure): Structure {
  if (!(code.relaxations as readonly string[]).includes(calculation)) return start;
  try {
    return code.outputStructure(result, start);
  } catch {
    return start;
  }
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
