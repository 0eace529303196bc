/**
 * The WorkflowPlan: a zod-validated DAG of steps. `WorkflowBuilder` produces it, the `plan` workflow
 * executes it, PWD export / import maps it. Pure data, JSON-safe, deterministic helpers only.
 */
import { z } from 'zod';
import { RecoveryPolicySchema } from '../recovery/strategy.ts';
import { StructureSchema } from '../structure/schema.ts';
import { STEP_TYPES } from '../calculation-types.ts';
import { CODE_NAMES } from '../codes/catalog.ts';
import { PROTOCOL_NAMES } from '../protocols.ts';
import { MAGNETISM_MODES } from '../electronic-defaults.ts';


/** The seed's ResourceRequirements. */
export const StepResourcesSchema = z.strictObject({
  numNodes: z.number().int().positive().default(1),
  numMpiRanks: z.number().int().positive().default(1),
  walltimeHours: z.number().positive().max(24 * 30).default(1),
  partition: z.string().min(1).optional(),
  gpus: z.number().int().nonnegative().optional(),
  memoryGb: z.number().positive().optional(),
});
export type StepResources = z.output<typeof StepResourcesSchema>;

const stepName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must start with a letter and use only letters, digits, _ and - (at most 64)');

export const WorkflowStepSchema = z.strictObject({
  name: stepName,
  type: z.enum(STEP_TYPES),
  code: z.enum(CODE_NAMES),
  /** Code parameters for this step (e.g. pw.x namelist overrides, `nBands`, `kpointsPerSegment`). */
  parameters: z.record(z.string(), z.unknown()).default({}),
  resources: StepResourcesSchema.optional(),
  /** Names of steps whose outputs this step needs. */
  dependsOn: z.array(stepName).default([]),
  protocol: z.enum(PROTOCOL_NAMES).optional(),
  recovery: RecoveryPolicySchema.optional(),
});
export type WorkflowStep = z.output<typeof WorkflowStepSchema>;
export type WorkflowStepInput = z.input<typeof WorkflowStepSchema>;

export const StructureSourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('builtin'), name: z.string().min(1) }),
  z.strictObject({ kind: z.literal('file'), path: z.string().min(1) }),
  z.strictObject({ kind: z.literal('materials-project'), id: z.string().regex(/^mp-\d+$/, 'must be a Materials Project id such as mp-149') }),
]);

export const WorkflowPlanSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    name: z.string().min(1).max(200).optional(),
    /** The resolved structure the plan runs on, and where it came from. */
    structure: StructureSchema,
    structureSource: StructureSourceSchema.optional(),
    protocol: z.enum(PROTOCOL_NAMES).default('moderate'),
    /** Pseudopotential family (plane-wave codes) under the worker's pseudo directory. */
    pseudoFamily: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a family name (letters, digits, . _ -)').default('qe-debian-lda'),
    /** Spin polarisation of every calculation (see CalculationFieldsSchema); absent: theirs, `auto`. */
    magnetism: z.enum(MAGNETISM_MODES).optional(),
    cluster: z.string().min(1).default('local'),
    recovery: RecoveryPolicySchema.default({ strategy: 'adaptive', maxAttempts: 5, rules: [] }),
    outputDir: z.string().min(1).optional(),
    steps: z.array(WorkflowStepSchema).min(1, 'a plan needs at least one step'),
  })
  .superRefine((plan, ctx) => {
    const seen = new Set<string>();
    plan.steps.forEach((step, i) => {
      if (seen.has(step.name)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'name'], message: `duplicate step name "${step.name}"` });
      step.dependsOn.forEach((dep, j) => {
        if (!plan.steps.some((s) => s.name === dep)) {
          ctx.addIssue({ code: 'custom', path: ['steps', i, 'dependsOn', j], message: `unknown step "${dep}"` });
        }
      });
      seen.add(step.name);
    });
    const cycle = findCycle(plan.steps);
    if (cycle) ctx.addIssue({ code: 'custom', path: ['steps'], message: `dependency cycle: ${cycle.join(' → ')}` });
  });
export type WorkflowPlan = z.output<typeof WorkflowPlanSchema>;
export type WorkflowPlanInput = z.input<typeof WorkflowPlanSchema>;

/** Steps in an order where every step comes after its dependencies (stable: ties keep plan order). */
export function topologicalOrder(steps: readonly Pick<WorkflowStep, 'name' | 'dependsOn'>[]): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < steps.length) {
    const next = steps.find((s) => !done.has(s.name) && s.dependsOn.every((d) => done.has(d)));
    if (!next) throw new Error(`dependency cycle among: ${steps.filter((s) => !done.has(s.name)).map((s) => s.name).join(', ')}`);
    done.add(next.name);
    order.push(next.name);
  }
  return order;
}

/** The steps that can run now: not done, not running, all dependencies done. */
export function readySteps(steps: readonly Pick<WorkflowStep, 'name' | 'dependsOn'>[], done: ReadonlySet<string>, running: ReadonlySet<string>): string[] {
  return steps.filter((s) => !done.has(s.name) && !running.has(s.name) && s.dependsOn.every((d) => done.has(d))).map((s) => s.name);
}

function findCycle(steps: readonly Pick<WorkflowStep, 'name' | 'dependsOn'>[]): string[] | undefined {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      const c = visit(dep);
      if (c) return c;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const s of steps) {
    const c = visit(s.name);
    if (c) return c;
  }
  return undefined;
}
