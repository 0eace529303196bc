/**
 * Handles on submitted workflows: status, progress, result and cancellation by id, from any process
 * (the id is all a script needs to keep, e.g. across a client restart).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { CalculationResult } from '../domain/calculation.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { readableWorkflowId } from '../domain/workflow-ids.ts';
import { loadSettings } from '../settings.ts';
import type { PlanProgress, PlanResult } from '../workflows/plan.ts';
import { withClient } from './connection.ts';

/** A new readable, unique workflow id, e.g. `scf-Si2-3fa9c1d2` (8 random hex digits). */
export function workflowIdFor(analysis: string, structure: Structure): string {
  return readableWorkflowId(analysis, structure, randomUUID().slice(0, 8));
}

/** Starts an analysis workflow under a new readable id (`<analysis>-<formula>-<suffix>`) and returns the id. */
export async function startAnalysis(workflowType: string, analysis: string, input: { structure: Structure }, opts: { client?: Client; taskQueue?: string }): Promise<string> {
  const id = workflowIdFor(analysis, input.structure);
  await withClient(opts.client, (client) => client.workflow.start(workflowType, { taskQueue: opts.taskQueue ?? loadSettings().taskQueue, workflowId: id, args: [input] }));
  return id;
}

/** Waits for an analysis's result, wraps it (`StandardResults`, `ElasticResults`) and saves its files into `outputDir` when given. */
export async function analysisResults<T, R extends { save(dir: string): void }>(workflowId: string, wrap: (data: T) => R, opts: { client?: Client; outputDir?: string }): Promise<R> {
  const results = wrap(await Workflow.getResult<T>(workflowId, { client: opts.client }));
  if (opts.outputDir) results.save(opts.outputDir);
  return results;
}

export type WorkflowState = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'continued_as_new' | 'unknown';

export interface WorkflowStatus {
  workflowId: string;
  type: string;
  state: WorkflowState;
  progressPercent: number;
  stepName?: string;
  message?: string;
  errors: string[];
}

export interface ProgressUpdate {
  percent: number;
  stepName?: string;
  message: string;
  status: 'running' | 'completed' | 'failed';
  /** Partial results while running; the final result when completed. */
  intermediateResult?: PlanResult | Record<string, CalculationResult>;
}

/** A workflow failed: its message, and whatever it had computed before failing. */
export class WorkflowRunError extends Error {
  override name = 'WorkflowRunError';
  constructor(message: string, readonly partialResult?: unknown) {
    super(message);
  }
}

const STATE: Record<string, WorkflowState> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
  CONTINUED_AS_NEW: 'continued_as_new',
};

export const Workflow = {
  async getStatus(workflowId: string, opts: { client?: Client } = {}): Promise<WorkflowStatus> {
    return withClient(opts.client, async (client) => {
      const handle = client.workflow.getHandle(workflowId);
      let description;
      try {
        description = await handle.describe();
      } catch (e) {
        if (e instanceof WorkflowNotFoundError) throw new WorkflowRunError(`no workflow with id ${workflowId}`);
        throw e;
      }
      const state = STATE[description.status.name] ?? 'unknown';
      const status: WorkflowStatus = { workflowId, type: description.type, state, progressPercent: state === 'completed' ? 100 : 0, errors: [] };
      // Only a running workflow is asked (a closed one would need a worker to replay it just to answer).
      if (state === 'running') {
        try {
          // A query needs a worker; without one it would hang, so give it a few seconds.
          const progress = await client.connection.withDeadline(Date.now() + 3000, () =>
            handle.query<PlanProgress | { stage: string; attempt: number; maxAttempts: number; lastRepair?: string }>('progress'),
          );
          if ('percent' in progress) {
            status.progressPercent = progress.percent;
            status.stepName = progress.stepName;
            status.message = progress.message;
            status.errors = progress.steps.filter((s) => s.error).map((s) => `${s.name}: ${s.error}`);
          } else {
            status.progressPercent = progress.stage === 'done' ? 100 : Math.min(95, 20 * progress.attempt);
            status.stepName = progress.stage;
            status.message = `attempt ${progress.attempt} of at most ${progress.maxAttempts}${progress.lastRepair ? `; last repair: ${progress.lastRepair}` : ''}`;
          }
        } catch {
          // No worker has picked it up yet: the state alone is still right.
        }
      }
      if (state === 'failed') {
        try {
          await handle.result();
        } catch (e) {
          const details = e instanceof WorkflowFailedError && e.cause instanceof ApplicationFailure ? (e.cause.details?.[0] as Partial<PlanResult> | undefined) : undefined;
          for (const step of details?.steps ?? []) if (step.error) status.errors.push(`${step.name}: ${step.error}`);
          if (status.errors.length === 0) status.errors.push(failureMessage(e));
        }
      }
      return status;
    });
  },

  /** The result of a finished workflow (waits while it runs). Failures throw WorkflowRunError with the partial result. */
  async getResult<T = PlanResult>(workflowId: string, opts: { client?: Client } = {}): Promise<T> {
    return withClient(opts.client, async (client) => {
      try {
        return (await client.workflow.getHandle(workflowId).result()) as T;
      } catch (e) {
        if (e instanceof WorkflowFailedError) {
          const cause = e.cause instanceof ApplicationFailure ? e.cause : undefined;
          throw new WorkflowRunError(failureMessage(e), cause?.details?.[0]);
        }
        throw e;
      }
    });
  },

  async cancel(workflowId: string, opts: { client?: Client } = {}): Promise<void> {
    await withClient(opts.client, (client) => client.workflow.getHandle(workflowId).cancel());
  },
};

export function failureMessage(e: unknown): string {
  if (e instanceof WorkflowFailedError && e.cause) return e.cause.message;
  return e instanceof Error ? e.message : String(e);
}
