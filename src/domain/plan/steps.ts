/**
 * How a plan's steps become calculations: which (code, step type) pairs run today, and the pure mapping from
 * a step plus its upstream results to a `calculation` input. `WorkflowBuilder.build()` and the `plan`
 * workflow both ask `unsupportedStepReason`, so an unsupported step fails at build time, never later.
 */
import { z } from 'zod';
import { describeZodError, type CalculationInput, type CalculationResult } from '../calculation.ts';
import type { PwParameters } from '../codes/qe/inputs.ts';
import { QE_PW_ID } from '../codes/qe/pw.ts';
import type { Structure } from '../structure/structure.ts';
import type { StepType } from '../calculation-types.ts';
import type { CodeName } from '../codes/catalog.ts';
import { BOHR_TO_ANGSTROM, RY_TO_EV } from '../units.ts';
import type { WorkflowPlan, WorkflowStep } from './plan.ts';

/** The step types each code runs today. Grows as analyses land; everything else is "not supported yet". */
export const SUPPORTED_STEPS: Partial<Record<CodeName, readonly StepType[]>> = {
  quantum_espresso: ['relax', 'scf', 'bands', 'dos'],
};

/** Analyses that run as workflows of their own, not (yet) as plan steps: where to find them. */
const RUNS_ON_ITS_OWN: Partial<Record<StepType, string>> = {
  elastic: '; the elastic analysis runs on its own: ElasticAnalysis, or crystalmath run --analysis elastic',
};

/** The parameters of a `bands` step (besides pw.x overrides): the path is the structure's standard one. */
export const BandsStepOptionsSchema = z.object({
  kpath: z.literal('auto', { error: 'only "auto" (the standard path of the structure\'s Bravais lattice) is supported yet' }).default('auto'),
  kpointsPerSegment: z.number().int().min(2).max(500).default(20),
});
/** The parameters of a `dos` step: the nscf mesh (default twice the scf's) and whether projwfc.x runs too. */
export const DosStepOptionsSchema = z.object({
  mesh: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]).optional(),
  projected: z.boolean().default(true),
});

export function bandsStepOptions(step: Pick<WorkflowStep, 'name' | 'parameters'>): z.output<typeof BandsStepOptionsSchema> {
  return parseStepOptions(step, BandsStepOptionsSchema);
}
export function dosStepOptions(step: Pick<WorkflowStep, 'name' | 'parameters'>): z.output<typeof DosStepOptionsSchema> {
  return parseStepOptions(step, DosStepOptionsSchema);
}

function parseStepOptions<T extends z.ZodObject>(step: Pick<WorkflowStep, 'name' | 'parameters'>, schema: T): z.output<T> {
  const known = Object.fromEntries(Object.entries(step.parameters).filter(([k]) => k in schema.shape));
  const parsed = schema.safeParse(known);
  if (!parsed.success) throw new StepOptionsError(`step "${step.name}": parameters.${describeZodError(parsed.error)}`);
  return parsed.data;
}

export class StepOptionsError extends Error {
  override name = 'StepOptionsError';
}

/**
 * Why this step cannot run (yet), or undefined when it can. With the plan, also what the step needs from it:
 * bands and DOS need an scf upstream.
 */
export function unsupportedStepReason(
  step: Pick<WorkflowStep, 'name' | 'type' | 'code'> & Partial<Pick<WorkflowStep, 'parameters' | 'dependsOn'>>,
  plan?: { cluster?: string; steps: readonly Pick<WorkflowStep, 'name' | 'type' | 'dependsOn'>[] },
): string | undefined {
  const types = SUPPORTED_STEPS[step.code];
  if (!types) return `step "${step.name}": code ${step.code} is not supported yet (supported codes: ${Object.keys(SUPPORTED_STEPS).join(', ')})`;
  if (!types.includes(step.type)) return `step "${step.name}": ${step.type} with ${step.code} is not supported yet (supported: ${types.join(', ')})${RUNS_ON_ITS_OWN[step.type] ?? ''}`;
  if (step.type === 'bands' || step.type === 'dos') {
    try {
      if (step.type === 'bands') bandsStepOptions({ name: step.name, parameters: step.parameters ?? {} });
      else dosStepOptions({ name: step.name, parameters: step.parameters ?? {} });
    } catch (e) {
      return (e as Error).message;
    }
    if (plan && !scfStepFor(plan.steps, { name: step.name, dependsOn: step.dependsOn ?? [] })) {
      return `step "${step.name}": ${step.type} needs an scf step before it (its charge density): add scf() first`;
    }
  }
  return undefined;
}

/** The nearest scf step upstream of `step` (whose charge density bands / nscf restart from), if any. */
export function scfStepFor(steps: readonly Pick<WorkflowStep, 'name' | 'type' | 'dependsOn'>[], step: Pick<WorkflowStep, 'name' | 'dependsOn'>): string | undefined {
  return nearestUpstream(steps, step, (s) => s.type === 'scf');
}

/** Breadth-first through `step`'s dependencies: the first step that satisfies `wanted`. */
function nearestUpstream<S extends Pick<WorkflowStep, 'name' | 'type' | 'dependsOn'>>(steps: readonly S[], step: Pick<WorkflowStep, 'dependsOn'>, wanted: (s: S) => boolean): string | undefined {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const queue = [...step.dependsOn];
  const seen = new Set<string>();
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const upstream = byName.get(name);
    if (upstream && wanted(upstream)) return name;
    queue.push(...(upstream?.dependsOn ?? []));
  }
  return undefined;
}

/**
 * A step's parameters in the seed's vocabulary, translated to pw.x namelists:
 * `forceThreshold` (eV/Å) → forc_conv_thr (Ry/Bohr), `energyConvergence` (eV) → conv_thr (Ry),
 * `pw` → raw namelist overrides (win over the translated ones).
 */
export function pwOverridesFor(step: Pick<WorkflowStep, 'parameters'>): PwParameters {
  const p = step.parameters as { forceThreshold?: number; energyConvergence?: number; pw?: PwParameters };
  const out: PwParameters = {};
  if (typeof p.forceThreshold === 'number') out.control = { forc_conv_thr: (p.forceThreshold / RY_TO_EV) * BOHR_TO_ANGSTROM };
  if (typeof p.energyConvergence === 'number') out.electrons = { conv_thr: p.energyConvergence / RY_TO_EV };
  for (const [namelist, values] of Object.entries(p.pw ?? {})) {
    out[namelist as keyof PwParameters] = { ...(out[namelist as keyof PwParameters] ?? {}), ...values };
  }
  return out;
}

/** The structure a step starts from: the output of the nearest upstream relaxation, else the plan's. */
export function structureForStep(plan: Pick<WorkflowPlan, 'steps' | 'structure'>, step: WorkflowStep, results: Readonly<Record<string, CalculationResult>>): Structure {
  const relaxed = nearestUpstream(plan.steps, step, (s) => s.type === 'relax' && results[s.name] !== undefined);
  return relaxed ? results[relaxed]!.finalStructure : plan.structure;
}

/** The pw.x calculation of each step type (bands / dos: the pw.x part; see src/workflows/electronic.ts). */
const CALCULATION_OF: Partial<Record<StepType, CalculationInput['calculation']>> = { relax: 'vc-relax', scf: 'scf', bands: 'bands', dos: 'nscf' };

export function calculationInputForStep(
  plan: WorkflowPlan,
  step: WorkflowStep,
  results: Readonly<Record<string, CalculationResult>>,
): CalculationInput {
  const reason = unsupportedStepReason(step, plan);
  const calculation = CALCULATION_OF[step.type];
  if (reason || !calculation) throw new Error(reason ?? `step "${step.name}": ${step.type} has no calculation mapping`);
  const resources = step.resources;
  return {
    code: QE_PW_ID,
    structure: structureForStep(plan, step, results),
    calculation,
    protocol: step.protocol ?? plan.protocol,
    pseudoFamily: plan.pseudoFamily,
    ...(plan.magnetism ? { magnetism: plan.magnetism } : {}),
    parameters: pwOverridesFor(step),
    recovery: step.recovery ?? plan.recovery,
    analysis: step.type,
    executor: plan.cluster === 'local' ? { kind: 'local' } : { kind: 'slurm', cluster: plan.cluster },
    ...(resources
      ? {
          resources: {
            walltimeSeconds: Math.round(resources.walltimeHours * 3600),
            mpiRanks: resources.numMpiRanks,
            ...(resources.partition ? { partition: resources.partition } : {}),
            ...(resources.numNodes > 1 ? { nodes: resources.numNodes } : {}),
            ...(resources.gpus !== undefined ? { gpusPerNode: resources.gpus } : {}),
            ...(resources.memoryGb !== undefined ? { memoryGb: resources.memoryGb } : {}),
          },
        }
      : {}),
  };
}
