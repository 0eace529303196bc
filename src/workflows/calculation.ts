/**
 * `calculation`: one code run to success or a clear failure, the PwBaseWorkChain pattern:
 * prepare → start → wait → parse. Every side effect is an activity; this file only decides.
 * Restarts with repaired parameters (the self-healing handlers) plug into the attempt loop later.
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { PreparedCalculation } from '../activities/calculation.ts';
import {
  CalculationInputSchema,
  describeZodError,
  type AttemptRecord,
  type CalculationInput,
  type CalculationResult,
  type ValidCalculationInput,
} from '../domain/calculation.ts';
import { isSuccessfulPwExit } from '../domain/codes/qe/exit-codes.ts';
import type { JobHandle } from '../domain/jobs.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attributes.ts';
import { cellFormula } from '../domain/structure/lattice.ts';

/** Staging and parsing: short, retried on any infrastructure error. */
const fileWork = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

export interface CalculationProgress {
  stage: 'validating' | 'preparing' | 'running' | 'parsing' | 'done' | 'failed' | 'cancelled';
  attempt: number;
  jobId?: string;
}
export const calculationProgressQuery = defineQuery<CalculationProgress>('progress');

export async function calculation(rawInput: CalculationInput): Promise<CalculationResult> {
  const progress: CalculationProgress = { stage: 'validating', attempt: 0 };
  setHandler(calculationProgressQuery, () => progress);

  const parsed = CalculationInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid calculation input: ${describeZodError(parsed.error)}`, 'InvalidCalculationInput');
  }
  const input: ValidCalculationInput = parsed.data;
  const { workflowId } = workflowInfo();
  const formula = cellFormula(input.structure);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.formula, value: formula },
    { key: SEARCH_ATTRIBUTE_KEYS.analysis, value: input.analysis },
    { key: SEARCH_ATTRIBUTE_KEYS.code, value: input.code },
    { key: SEARCH_ATTRIBUTE_KEYS.cluster, value: input.executor.kind === 'local' ? 'local' : input.executor.kind },
  ]);
  upsertMemo({ formula, calculation: input.calculation, protocol: input.protocol, atoms: input.structure.sites.length });

  // The job's own watcher: heartbeats detect a dead worker in seconds; the walltime bounds the whole wait.
  const jobWait = proxyActivities<Activities>({
    startToCloseTimeout: `${input.resources.walltimeSeconds + 300} seconds`,
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });

  const attempts: AttemptRecord[] = [];
  const step = 'pw';
  const attempt = 1;
  progress.attempt = attempt;
  progress.stage = 'preparing';
  const prepared: PreparedCalculation = await fileWork.prepareCalculation({ input, workflowId, step, attempt });

  let handle: JobHandle | undefined;
  try {
    progress.stage = 'running';
    handle = await fileWork.startJob(prepared.job, input.executor.kind);
    progress.jobId = handle.jobId;
    const outcome = await jobWait.waitForJob(handle, {});
    progress.stage = 'parsing';
    const { result, artifacts } = await fileWork.parseCalculation({
      workflowId,
      step,
      attempt,
      workDir: prepared.job.workDir,
      outcome,
      parameters: prepared.parameters,
    });
    attempts.push({ attempt, job: outcome, exitCode: result.exitCode, exitName: result.exitName, workDir: prepared.job.workDir });
    const ok = isSuccessfulPwExit(result.exitCode);
    const summary: CalculationResult = {
      workflowId,
      code: input.code,
      calculation: input.calculation,
      protocol: input.protocol,
      formula,
      ok,
      exitCode: result.exitCode,
      exitName: result.exitName,
      exitMessage: result.exitMessage,
      outputs: result,
      inputSummary: prepared.inputSummary,
      attempts,
      artifacts,
      remoteFolder: { host: 'local', path: prepared.job.workDir },
    };
    progress.stage = ok ? 'done' : 'failed';
    if (!ok) {
      // The parsed result travels with the failure: nothing computed is lost.
      throw ApplicationFailure.nonRetryable(`pw.x ${input.calculation} failed: ${result.exitCode} ${result.exitName}: ${result.exitMessage}`, 'CalculationFailed', summary);
    }
    return summary;
  } catch (err) {
    if (isCancellation(err) && handle) {
      progress.stage = 'cancelled';
      const h = handle;
      await CancellationScope.nonCancellable(() => fileWork.cancelJob(h));
    }
    throw err;
  }
}
