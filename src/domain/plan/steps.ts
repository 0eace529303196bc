/**
 * How a plan's steps become calculations: which (code, step type) pairs run today, and the pure mapping from
 * a step plus its upstream results to a `calculation` input. `WorkflowBuilder.build()` and the `plan`
 * workflow both ask `unsupportedStepReason`, so an unsupported step fails at build time, never later.
 */
import type { CalculationInput, CalculationResult } from '../calculation.ts';
import type { PwParameters } from '../codes/qe/inputs.ts';
import type { Structure } from '../structure/structure.ts';
import type { CodeName, StepType, WorkflowPlan, WorkflowStep } from './plan.ts';

/** The step types each code runs today. Grows as analyses land; everything else is "not supported yet". */
export const SUPPORTED_STEPS: Partial<Record<CodeName, readonly StepType[]>> = {
  quantum_espresso: ['relax', 'scf'],
};

/** Why this step cannot run (yet), or undefined when it can. */
export function unsupportedStepReason(step: Pick<WorkflowStep, 'name' | 'type' | 'code'>): string | undefined {
  const types = SUPPORTED_STEPS[step.code];
  if (!types) return `step "${step.name}": code ${step.code} is not supported yet (supported codes: ${Object.keys(SUPPORTED_STEPS).join(', ')})`;
  if (!types.includes(step.type)) return `step "${step.name}": ${step.type} with ${step.code} is not supported yet (supported: ${types.join(', ')})`;
  return undefined;
}

const EV_PER_RY = 13.605693122994;
const BOHR_IN_ANGSTROM = 0.529177210903;

/**
 * A step's parameters in the seed's vocabulary, translated to pw.x namelists:
 * `forceThreshold` (eV/Å) → forc_conv_thr (Ry/Bohr), `energyConvergence` (eV) → conv_thr (Ry),
 * `pw` → raw namelist overrides (win over the translated ones).
 */
export function pwOverridesFor(step: Pick<WorkflowStep, 'parameters'>): PwParameters {
  const p = step.parameters as { forceThreshold?: number; energyConvergence?: number; pw?: PwParameters };
  const out: PwParameters = {};
  if (typeof p.forceThreshold === 'number') out.control = { forc_conv_thr: (p.forceThreshold / EV_PER_RY) * BOHR_IN_ANGSTROM };
  if (typeof p.energyConvergence === 'number') out.electrons = { conv_thr: p.energyConvergence / EV_PER_RY };
  for (const [namelist, values] of Object.entries(p.pw ?? {})) {
    out[namelist as keyof PwParameters] = { ...(out[namelist as keyof PwParameters] ?? {}), ...values };
  }
  return out;
}

/** The structure a step starts from: the output of the nearest upstream relaxation, else the plan's. */
export function structureForStep(plan: Pick<WorkflowPlan, 'steps' | 'structure'>, step: WorkflowStep, results: Readonly<Record<string, CalculationResult>>): Structure {
  const byName = new Map(plan.steps.map((s) => [s.name, s]));
  const queue = [...step.dependsOn];
  const seen = new Set<string>();
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const upstream = byName.get(name);
    if (upstream?.type === 'relax' && results[name]) return results[name]!.finalStructure;
    queue.push(...(upstream?.dependsOn ?? []));
  }
  return plan.structure;
}

const CALCULATION_OF: Partial<Record<StepType, CalculationInput['calculation']>> = { relax: 'vc-relax', scf: 'scf' };

export function calculationInputForStep(
  plan: WorkflowPlan,
  step: WorkflowStep,
  results: Readonly<Record<string, CalculationResult>>,
): CalculationInput {
  const reason = unsupportedStepReason(step);
  const calculation = CALCULATION_OF[step.type];
  if (reason || !calculation) throw new Error(reason ?? `step "${step.name}": ${step.type} has no calculation mapping`);
  const resources = step.resources;
  return {
    code: 'qe-pw',
    structure: structureForStep(plan, step, results),
    calculation,
    protocol: step.protocol ?? plan.protocol,
    pseudoFamily: plan.pseudoFamily,
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
