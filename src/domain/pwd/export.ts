/**
 * WorkflowPlan (or bare steps) → PWD workflow (+ CrystalMath extensions). Pure and deterministic.
 *
 * Graph shape (see docs/PWD.md):
 * - one function node per step, `workflow.<step type>` (the module is the `workflow.py` that `savePwd` writes
 *   beside workflow.json, as in every PWD example), ids 0..n-1 in plan order;
 * - one input node `structure`: the plan's structure (CrystalMath's JSON form), null for bare steps;
 * - per step, input nodes `<step>_code`, `<step>_parameters`, `<step>_protocol` (the protocol it runs with);
 * - a step without dependencies takes `structure` from the structure input; a step with dependencies takes it
 *   from its first dependency's `structure` output, and all its dependencies' results through a
 *   `python_workflow_definition.shared.get_dict` node (one key per dependency, in dependsOn order) into its
 *   `parents` argument;
 * - one output node `result`: the last step's result, or a get_dict of every last step's result by step name.
 */
import { z } from 'zod';
import { topologicalOrder, WorkflowPlanSchema, WorkflowStepSchema } from '../plan/plan.ts';
import type { WorkflowPlan, WorkflowPlanInput, WorkflowStep, WorkflowStepInput } from '../plan/plan.ts';
import { extensionKey, resourcesToPwd } from './extensions.ts';
import type { PwdExtensions, PwdFunctionExtension } from './extensions.ts';
import { findNonJson, PWD_GET_DICT, PWD_VERSION, validatePwd, PwdValidationError } from './format.ts';
import type { JsonValue, PwdEdge, PwdNode, PwdWorkflow } from './format.ts';

/** The module name of CrystalMath's step functions in workflow.json (the workflow.py written beside it). */
export const PWD_MODULE = 'workflow';
/** The arguments of every CrystalMath step function, in signature order. */
export const STEP_FUNCTION_PORTS = ['structure', 'code', 'parameters', 'protocol', 'parents'] as const;

export type StepsOrPlan = readonly WorkflowStepInput[] | WorkflowPlanInput;

/** Validated steps, and the plan when one was given. */
export interface NormalizedPlan {
  steps: WorkflowStep[];
  plan?: WorkflowPlan;
}

const StepListSchema = z
  .array(WorkflowStepSchema)
  .min(1, 'at least one step is needed')
  .superRefine((steps, ctx) => {
    const seen = new Set<string>();
    steps.forEach((step, i) => {
      if (seen.has(step.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate step name "${step.name}"` });
      seen.add(step.name);
      step.dependsOn.forEach((dep, j) => {
        if (!steps.some((s) => s.name === dep)) ctx.addIssue({ code: 'custom', path: [i, 'dependsOn', j], message: `unknown step "${dep}"` });
      });
    });
    if (steps.every((s) => s.dependsOn.every((d) => seen.has(d)))) {
      try {
        topologicalOrder(steps);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: [], message: (e as Error).message });
      }
    }
  });

/** Validate a plan or a list of steps (names unique, dependencies known, no cycle). */
export function normalizeStepsOrPlan(input: StepsOrPlan): NormalizedPlan {
  if (Array.isArray(input)) {
    const parsed = StepListSchema.safeParse(input);
    if (!parsed.success) throw new PwdValidationError(describe(parsed.error, 'steps'), 'invalid steps');
    return { steps: parsed.data };
  }
  const parsed = WorkflowPlanSchema.safeParse(input);
  if (!parsed.success) throw new PwdValidationError(describe(parsed.error, ''), 'invalid plan');
  return { steps: parsed.data.steps, plan: parsed.data };
}

function describe(error: z.ZodError, root: string): string[] {
  return error.issues.map((i) => {
    const path = [root, ...i.path.map((k) => (typeof k === 'number' ? `[${k}]` : String(k)))].filter(Boolean).join('.').replace(/\.\[/g, '[');
    return `${path || '(input)'}: ${i.message}`;
  });
}

/** The protocol a step runs with: its own, else the plan's; null for bare steps without one. */
const effectiveProtocol = (step: WorkflowStep, plan?: WorkflowPlan) => step.protocol ?? plan?.protocol ?? null;
const effectiveRecovery = (step: WorkflowStep, plan?: WorkflowPlan) => step.recovery ?? plan?.recovery ?? null;

/** The function node value of a step: `workflow.<step type>`. */
export function stepFunctionValue(step: Pick<WorkflowStep, 'type'>): string {
  return `${PWD_MODULE}.${step.type}`;
}

/** The PWD workflow of a plan or of bare steps (validated against the PWD format before it is returned). */
export function exportToPwd(input: StepsOrPlan): PwdWorkflow {
  return buildPwd(normalizeStepsOrPlan(input));
}

function buildPwd({ steps, plan }: NormalizedPlan): PwdWorkflow {
  const nodes: PwdNode[] = [];
  const edges: PwdEdge[] = [];
  const stepId = new Map<string, number>();
  steps.forEach((s, i) => {
    stepId.set(s.name, i);
    nodes.push({ id: i, type: 'function', value: stepFunctionValue(s) });
  });
  let nextId = steps.length;
  const input = (name: string, value: JsonValue): number => {
    const id = nextId++;
    nodes.push({ id, type: 'input', name, value });
    return id;
  };
  const edge = (source: number, sourcePort: string | null, target: number, targetPort: string | null) =>
    edges.push({ source, sourcePort, target, targetPort });

  const structureId = input('structure', (plan?.structure ?? null) as JsonValue);
  for (const step of steps) {
    const id = stepId.get(step.name)!;
    const bad = findNonJson(step.parameters);
    if (bad) {
      throw new PwdValidationError([`step "${step.name}": parameters${bad.path.map((k) => `.${k}`).join('')}: ${bad.what} is not a JSON value`], 'cannot export');
    }
    const [firstDep] = step.dependsOn;
    if (firstDep === undefined) edge(structureId, null, id, 'structure');
    else edge(stepId.get(firstDep)!, 'structure', id, 'structure');
    edge(input(`${step.name}_code`, step.code), null, id, 'code');
    edge(input(`${step.name}_parameters`, step.parameters as JsonValue), null, id, 'parameters');
    edge(input(`${step.name}_protocol`, effectiveProtocol(step, plan)), null, id, 'protocol');
    if (step.dependsOn.length > 0) {
      const dict = nextId++;
      nodes.push({ id: dict, type: 'function', value: PWD_GET_DICT });
      for (const dep of step.dependsOn) edge(stepId.get(dep)!, null, dict, dep);
      edge(dict, null, id, 'parents');
    }
  }
  const sinks = steps.filter((s) => !steps.some((o) => o.dependsOn.includes(s.name)));
  const result = nextId++;
  if (sinks.length === 1) {
    nodes.push({ id: result, type: 'output', name: 'result' });
    edge(stepId.get(sinks[0]!.name)!, null, result, null);
  } else {
    const dict = result;
    const out = nextId++;
    nodes.push({ id: dict, type: 'function', value: PWD_GET_DICT }, { id: out, type: 'output', name: 'result' });
    for (const s of sinks) edge(stepId.get(s.name)!, null, dict, s.name);
    edge(dict, null, out, null);
  }
  return validatePwd({ version: PWD_VERSION, nodes, edges });
}

export interface ExtensionOptions {
  /** CrystalMath's version (package.json); the domain does no I/O, so the caller passes it. */
  crystalmathVersion: string;
}

/** The seed's `to_pwd_with_extensions`: the PWD workflow and what PWD cannot hold. */
export function toPwdWithExtensions(input: StepsOrPlan, opts: ExtensionOptions): [PwdWorkflow, PwdExtensions] {
  const normalized = normalizeStepsOrPlan(input);
  const { steps, plan } = normalized;
  const pwd = buildPwd(normalized);
  const extensions: Record<string, PwdFunctionExtension> = {};
  steps.forEach((step, i) => {
    const recovery = effectiveRecovery(step, plan);
    extensions[extensionKey(step.name)] = {
      node_id: i,
      function: stepFunctionValue(step),
      step_name: step.name,
      workflow_type: step.type,
      code: step.code,
      resources: resourcesToPwd(step.resources),
      protocol_level: effectiveProtocol(step, plan),
      protocol_inherited: step.protocol === undefined,
      error_recovery: recovery?.strategy ?? null,
      max_attempts: recovery?.maxAttempts ?? null,
      recovery_inherited: step.recovery === undefined,
    };
  });
  return [
    pwd,
    {
      crystalmath_version: opts.crystalmathVersion,
      pwd_version: pwd.version,
      plan: plan
        ? {
            ...(plan.name !== undefined ? { name: plan.name } : {}),
            protocol_level: plan.protocol,
            ...(plan.magnetism !== undefined ? { magnetism: plan.magnetism } : {}),
            cluster: plan.cluster,
            error_recovery: plan.recovery.strategy,
            max_attempts: plan.recovery.maxAttempts,
            ...(plan.structureSource !== undefined ? { structure_source: plan.structureSource } : {}),
            ...(plan.outputDir !== undefined ? { output_dir: plan.outputDir } : {}),
          }
        : null,
      extensions,
    },
  ];
}
