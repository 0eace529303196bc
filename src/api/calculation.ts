/** Starting one `calculation` workflow and reading its result, for scripts that drive single calculations. */
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CalculationInputSchema, describeZodError, type CalculationInput, type CalculationResult } from '../domain/calculation.ts';
import { loadSettings } from '../settings.ts';
import type { calculation } from '../workflows/calculation.ts';
import { InputError } from './errors.ts';
import { workflowIdFor } from './workflow.ts';

/** Validates before anything reaches Temporal, so a typo is reported at once and names its field. */
export function validateCalculationInput(input: CalculationInput) {
  const parsed = CalculationInputSchema.safeParse(input);
  if (!parsed.success) throw new InputError(`invalid calculation input: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

export async function startCalculation(
  client: Client,
  input: CalculationInput,
  opts: { taskQueue?: string; workflowId?: string } = {},
): Promise<WorkflowHandle<typeof calculation>> {
  const valid = validateCalculationInput(input);
  return client.workflow.start<typeof calculation>('calculation', {
    taskQueue: opts.taskQueue ?? loadSettings().taskQueue,
    workflowId: opts.workflowId ?? workflowIdFor(valid.analysis, valid.structure),
    args: [valid],
  });
}

/**
 * The result of a finished calculation. A failed calculation throws `CalculationFailedError` carrying the
 * parsed result (energies, exit code, artifacts) so nothing computed is lost.
 */
export async function calculationResult(handle: WorkflowHandle<typeof calculation>): Promise<CalculationResult> {
  try {
    return await handle.result();
  } catch (e) {
    const cause = e instanceof WorkflowFailedError ? e.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === 'CalculationFailed') {
      throw new CalculationFailedError(cause.message, cause.details?.[0] as CalculationResult);
    }
    if (cause instanceof ApplicationFailure && cause.type === 'InvalidCalculationInput') throw new InputError(cause.message);
    throw e;
  }
}

export class CalculationFailedError extends Error {
  override name = 'CalculationFailedError';
  constructor(message: string, readonly result: CalculationResult) {
    super(message);
  }
}
