/**
 * The public client entry: connect to Temporal, start and follow CrystalMath workflows.
 * (The fluent WorkflowBuilder and the analysis runners grow on top of this.)
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CalculationInputSchema, describeZodError, type CalculationInput, type CalculationResult } from './domain/calculation.ts';
import { cellFormula } from './domain/structure/lattice.ts';
import { builtinStructure, builtinStructureNames, parseStructureText } from './domain/structure/index.ts';
import type { Structure } from './domain/structure/structure.ts';
import { loadSettings, temporalConnectionOf, type Settings } from './settings.ts';
import { connectClientConnection } from './temporal-connection.ts';
import type { calculation } from './workflows/calculation.ts';

export type { CalculationInput, CalculationResult } from './domain/calculation.ts';
export type { Structure } from './domain/structure/structure.ts';
export { loadSettings } from './settings.ts';

/** A user-facing error: bad input, with the field and the reason. The CLI prints its message alone. */
export class InputError extends Error {
  override name = 'InputError';
}

/** A client on the server and namespace Temporal's environment configuration names (TEMPORAL_ADDRESS, profiles, TLS, API key). */
export async function connectClient(settings: Settings = loadSettings()): Promise<Client> {
  const connection = await connectClientConnection(temporalConnectionOf(settings));
  return new Client({ connection, namespace: settings.namespace });
}

/** Runs `fn` with the caller's client, or with one connected for the call and closed after it. */
export async function withClient<T>(client: Client | undefined, fn: (c: Client) => Promise<T>): Promise<T> {
  if (client) return fn(client);
  const own = await connectClient();
  try {
    return await fn(own);
  } finally {
    await own.connection.close();
  }
}

/** A structure from a built-in name ("Si", "MoS2", ...) or a CIF / POSCAR file path. */
export function resolveStructure(spec: string): Structure {
  const builtin = builtinStructure(spec);
  if (builtin) return builtin;
  if (!existsSync(spec)) {
    throw new InputError(`--structure: "${spec}" is neither a file nor a built-in structure (built-ins: ${builtinStructureNames().join(', ')})`);
  }
  return parseStructureText(readFileSync(spec, 'utf8'), basename(spec));
}

/** Validates before anything reaches Temporal, so a typo is reported at once and names its field. */
export function validateCalculationInput(input: CalculationInput) {
  const parsed = CalculationInputSchema.safeParse(input);
  if (!parsed.success) throw new InputError(`invalid calculation input: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** Readable, unique ids: analysis, formula and a short hash, e.g. `scf-Si2-3fa9c1d2`. */
export function workflowIdFor(analysis: string, structure: Structure): string {
  const hash = createHash('sha256').update(JSON.stringify(structure)).update(randomUUID()).digest('hex').slice(0, 8);
  return `${analysis}-${cellFormula(structure)}-${hash}`.replace(/[^A-Za-z0-9._-]/g, '_');
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

export { WorkflowBuilder, BuiltWorkflow, BuildError, ErrorRecoveryStrategy } from './api/builder.ts';
export { Workflow, WorkflowRunError, type WorkflowStatus, type ProgressUpdate } from './api/workflow.ts';
export type { WorkflowPlan } from './domain/plan/plan.ts';
export { BaseAnalysisRunner, type RunnerOptions } from './api/runners.ts';
export { buildPlan } from './api/builder.ts';
export type { RecoveryRuleInput } from './domain/recovery/rules.ts';
export type { WorkflowStepInput } from './domain/plan/plan.ts';
export { StandardAnalysis, StandardResults, type StandardAnalysisOptions } from './api/standard.ts';
export type { AnalysisResults } from './workflows/standard.ts';
