/**
 * Analysis runners (seed 000): a runner turns "this structure, this kind of analysis" into a plan and runs it.
 * Runners live on the client side and only produce plans, so a user's own runner, in their own file,
 * needs nothing from the worker: subclass `BaseAnalysisRunner`, implement `buildWorkflowSteps()`, and express
 * custom recovery as rules (data the workflow interprets) through `recoveryRules()`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { StepType } from '../domain/calculation-types.ts';
import type { CodeName } from '../domain/codes/catalog.ts';
import type { Magnetism } from '../domain/electronic-defaults.ts';
import type { StepResources, WorkflowPlan, WorkflowStepInput } from '../domain/plan/plan.ts';
import type { RecoveryRuleInput } from '../domain/recovery/rules.ts';
import type { ErrorRecoveryStrategy } from '../domain/recovery/strategy.ts';
import type { Structure } from '../domain/structure/structure.ts';
import type { ClusterProfile } from '../domain/cluster-profile.ts';
import type { PlanResult } from '../workflows/plan.ts';
import { buildPlan, type BuiltWorkflow } from './builder.ts';
import { toCSV, toJSON } from './exporters.ts';
import { resolveStructure } from './structures.ts';
import { Workflow } from './workflow.ts';

export interface RunnerOptions {
  /** A cluster profile or its name; default `local`. */
  cluster?: ClusterProfile | string;
  protocol?: WorkflowPlan['protocol'];
  recoveryStrategy?: ErrorRecoveryStrategy;
  maxAttempts?: number;
  dftCode?: CodeName;
  pseudoFamily?: string;
  /** Spin polarisation of every calculation; default `auto`. */
  magnetism?: Magnetism;
  /** Where `run()` writes results.json and results.csv. */
  outputDir?: string;
  client?: Client;
  taskQueue?: string;
}

export abstract class BaseAnalysisRunner {
  /** The steps of the last plan this runner made. */
  steps: WorkflowPlan['steps'] = [];
  protected structure?: Structure;

  constructor(protected readonly options: RunnerOptions = {}) {}

  /** The analysis's steps, in the seed's WorkflowStep shape (name, type, code, parameters, dependsOn). */
  protected abstract buildWorkflowSteps(): WorkflowStepInput[];

  /** The analysis name shown in the Web UI and in workflow ids. */
  protected get analysisName(): string {
    return this.constructor.name.replace(/Analysis$|Runner$/, '').toLowerCase() || 'analysis';
  }

  protected get dftCode(): CodeName {
    return this.options.dftCode ?? 'quantum_espresso';
  }

  /** Parameters of a step; override to add code-specific ones. */
  protected getParameters(_type: StepType, _code: CodeName, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...overrides };
  }

  /** Resources given to every step unless it sets its own. */
  protected getDefaultResources(): Partial<StepResources> | undefined {
    return undefined;
  }

  /** Custom recovery rules, tried before the built-in handlers. */
  protected recoveryRules(): RecoveryRuleInput[] {
    return [];
  }

  /** Builds and checks the plan for a structure (a built-in name, a CIF / POSCAR path, or a Structure). */
  plan(structure: string | Structure): BuiltWorkflow {
    this.structure = typeof structure === 'string' ? resolveStructure(structure) : structure;
    const cluster = this.options.cluster;
    const resources = this.getDefaultResources();
    const built = buildPlan(
      {
        name: this.analysisName,
        structure: this.structure,
        protocol: this.options.protocol ?? 'moderate',
        ...(this.options.pseudoFamily ? { pseudoFamily: this.options.pseudoFamily } : {}),
        ...(this.options.magnetism ? { magnetism: this.options.magnetism } : {}),
        cluster: typeof cluster === 'string' ? cluster : (cluster?.name ?? 'local'),
        recovery: { strategy: this.options.recoveryStrategy ?? 'adaptive', maxAttempts: this.options.maxAttempts ?? 5, rules: this.recoveryRules() },
        outputDir: this.options.outputDir,
        steps: this.buildWorkflowSteps().map((s) => (resources && !s.resources ? { ...s, resources } : s)),
      },
      { client: this.options.client, taskQueue: this.options.taskQueue },
    );
    this.steps = built.plan.steps;
    return built;
  }

  async submit(structure: string | Structure): Promise<string> {
    return this.plan(structure).submit();
  }

  /** Runs to the end; with `outputDir`, also writes results.json and results.csv there. */
  async run(structure: string | Structure): Promise<PlanResult> {
    const built = this.plan(structure);
    await built.submit();
    const result = await Workflow.getResult<PlanResult>(built.workflowId, { client: this.options.client });
    if (this.options.outputDir) {
      mkdirSync(this.options.outputDir, { recursive: true });
      writeFileSync(join(this.options.outputDir, 'results.json'), toJSON(result));
      writeFileSync(join(this.options.outputDir, 'results.csv'), toCSV(result));
    }
    return result;
  }
}
