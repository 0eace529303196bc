/**
 * extensions.json: what a CrystalMath plan holds that PWD cannot (the seed's `to_pwd_with_extensions`).
 *
 * PWD itself carries each step's function (= step type), code, parameters, protocol (effective) and
 * dependencies, and the plan's structure (an input node). The extensions add, per function node
 * (`func_<step name>`, the seed's key): the step name, resources, the recovery strategy, and whether the protocol
 * and recovery were the step's own or inherited from the plan; and the plan-level settings. Keys are snake_case
 * like the seed's example. Pure: no I/O.
 */
import { z } from 'zod';
import { STEP_TYPES } from '../calculation-types.ts';
import { CODE_NAMES } from '../codes/catalog.ts';
import { StructureSourceSchema } from '../plan/plan.ts';
import type { StepResources, WorkflowStep } from '../plan/plan.ts';
import { PROTOCOL_NAMES } from '../protocols.ts';
import { MAGNETISM_MODES } from '../electronic-defaults.ts';
import { RECOVERY_STRATEGIES } from '../recovery/strategy.ts';

export const PwdResourcesSchema = z.strictObject({
  num_nodes: z.number().int().positive(),
  num_mpi_ranks: z.number().int().positive(),
  walltime_hours: z.number().positive(),
  partition: z.string().min(1).optional(),
  gpus: z.number().int().nonnegative().optional(),
  memory_gb: z.number().positive().optional(),
});
export type PwdResources = z.output<typeof PwdResourcesSchema>;

export const PwdFunctionExtensionSchema = z.strictObject({
  /** The function node of workflow.json this entry describes. */
  node_id: z.number().int(),
  /** Its `value` (checked against the node on import). */
  function: z.string().min(1),
  step_name: z.string().min(1),
  workflow_type: z.enum(STEP_TYPES),
  code: z.enum(CODE_NAMES),
  /** null: the step has none of its own (the cluster profile's defaults apply). */
  resources: PwdResourcesSchema.nullable(),
  /** The protocol the step runs with (the plan's when inherited); null when exported without a plan and unset. */
  protocol_level: z.enum(PROTOCOL_NAMES).nullable(),
  protocol_inherited: z.boolean(),
  /** The recovery strategy the step runs with (the plan's when inherited); null as for protocol_level. */
  error_recovery: z.enum(RECOVERY_STRATEGIES).nullable(),
  max_attempts: z.number().int().min(1).max(20).nullable(),
  recovery_inherited: z.boolean(),
});
export type PwdFunctionExtension = z.output<typeof PwdFunctionExtensionSchema>;

export const PwdPlanExtensionSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  protocol_level: z.enum(PROTOCOL_NAMES),
  magnetism: z.enum(MAGNETISM_MODES).optional(),
  cluster: z.string().min(1),
  error_recovery: z.enum(RECOVERY_STRATEGIES),
  max_attempts: z.number().int().min(1).max(20),
  structure_source: StructureSourceSchema.optional(),
  output_dir: z.string().min(1).optional(),
});
export type PwdPlanExtension = z.output<typeof PwdPlanExtensionSchema>;

export const PwdExtensionsSchema = z.strictObject({
  crystalmath_version: z.string().min(1),
  /** The PWD format version of the workflow.json these extensions belong to. */
  pwd_version: z.string().min(1),
  /** Plan-level settings; null when steps were exported without a plan. */
  plan: PwdPlanExtensionSchema.nullable(),
  /** Per function node, keyed `func_<step name>`. */
  extensions: z.record(z.string().regex(/^func_/, 'keys are func_<step name>'), PwdFunctionExtensionSchema),
});
export type PwdExtensions = z.output<typeof PwdExtensionsSchema>;

export const extensionKey = (stepName: string): string => `func_${stepName}`;

export function resourcesToPwd(r: StepResources | undefined): PwdResources | null {
  if (!r) return null;
  return {
    num_nodes: r.numNodes,
    num_mpi_ranks: r.numMpiRanks,
    walltime_hours: r.walltimeHours,
    ...(r.partition !== undefined ? { partition: r.partition } : {}),
    ...(r.gpus !== undefined ? { gpus: r.gpus } : {}),
    ...(r.memoryGb !== undefined ? { memory_gb: r.memoryGb } : {}),
  };
}

export function resourcesFromPwd(r: PwdResources | null): WorkflowStep['resources'] {
  if (!r) return undefined;
  return {
    numNodes: r.num_nodes,
    numMpiRanks: r.num_mpi_ranks,
    walltimeHours: r.walltime_hours,
    ...(r.partition !== undefined ? { partition: r.partition } : {}),
    ...(r.gpus !== undefined ? { gpus: r.gpus } : {}),
    ...(r.memory_gb !== undefined ? { memoryGb: r.memory_gb } : {}),
  };
}
