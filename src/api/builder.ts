/**
 * WorkflowBuilder: the fluent way to describe an analysis (seed 000's chain, in TypeScript):
 *
 *   const wf = await new WorkflowBuilder().fromFile('Si.cif').relax().scf().thenBands().onCluster('local').build();
 *   const result = await wf.run();
 *
 * `build()` validates everything it can before anything runs: impossible plans (BSE without a GW or DFT
 * parent, a code that cannot do a step, an unknown cluster, a code the cluster lacks) and steps whose
 * analysis has not landed yet ("not supported yet") are rejected there, with the step named.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Client } from '@temporalio/client';
import { describeZodError } from '../domain/calculation.ts';
import type { StepType } from '../domain/calculation-types.ts';
import { codeCanRun, executableOf, type CodeName } from '../domain/codes/catalog.ts';
import {
  WorkflowPlanSchema,
  type StepResources,
  type WorkflowPlan,
  type WorkflowPlanInput,
  type WorkflowStepInput,
} from '../domain/plan/plan.ts';
import { unsupportedStepReason } from '../domain/plan/steps.ts';
import type { Magnetism } from '../domain/electronic-defaults.ts';
import type { ErrorRecoveryStrategy as StrategyName, RecoveryPolicyInput } from '../domain/recovery/strategy.ts';
import type { RecoveryRuleInput } from '../domain/recovery/rules.ts';
import { builtinStructure, parseStructureText } from '../domain/structure/index.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { ClusterProfileError, getClusterProfile } from '../clusters/loader.ts';
import { loadSettings } from '../settings.ts';
import type { PlanResult } from '../workflows/plan.ts';
import { connectClient, withClient } from './connection.ts';
import { fetchMaterialsProjectStructure } from './materials-project.ts';
import { Workflow, WorkflowRunError, workflowIdFor, type ProgressUpdate } from './workflow.ts';
import type { PlanProgress } from '../workflows/plan.ts';

/** The seed's ErrorRecoveryStrategy names. */
export const ErrorRecoveryStrategy = {
  FAIL_FAST: 'fail_fast',
  RETRY: 'retry',
  ADAPTIVE: 'adaptive',
  CHECKPOINT: 'checkpoint',
} as const satisfies Record<string, StrategyName>;

export class BuildError extends Error {
  override name = 'BuildError';
}

type Protocol = WorkflowPlan['protocol'];
interface StepOptions {
  code?: CodeName;
  protocol?: Protocol;
  [parameter: string]: unknown;
}

export class WorkflowBuilder {
  private structure?: Structure;
  private structureSource?: WorkflowPlanInput['structureSource'];
  private pending?: Promise<void>;
  private readonly steps: WorkflowStepInput[] = [];
  private cluster = 'local';
  private partition?: string;
  private resources?: Partial<StepResources>;
  private protocol: Protocol = 'moderate';
  private pseudoFamily?: string;
  private magnetism?: Magnetism;
  private recovery: RecoveryPolicyInput = { strategy: 'adaptive', maxAttempts: 5 };
  private outputDir?: string;
  private progress?: (update: ProgressUpdate) => void;
  private name?: string;

  constructor(private readonly options: { client?: Client; taskQueue?: string; dftCode?: CodeName } = {}) {}

  // --- where the structure comes from
  fromFile(path: string): this {
    this.structure = parseStructureText(readFileSync(path, 'utf8'), basename(path));
    this.structureSource = { kind: 'file', path };
    return this;
  }
  fromStructure(structure: Structure | string): this {
    if (typeof structure === 'string') {
      const builtin = builtinStructure(structure);
      if (!builtin) throw new BuildError(`fromStructure("${structure}"): not a built-in structure name`);
      this.structure = builtin;
      this.structureSource = { kind: 'builtin', name: structure };
    } else this.structure = structure;
    return this;
  }
  /** Fetched when `build()` runs (needs MP_API_KEY). */
  fromMaterialsProject(id: string): this {
    this.structureSource = { kind: 'materials-project', id };
    this.pending = fetchMaterialsProjectStructure(id).then((s) => {
      this.structure = s;
    });
    return this;
  }

  // --- the chain
  relax(opts: StepOptions = {}): this {
    return this.add('relax', opts, this.lastOf(['relax']));
  }
  scf(opts: StepOptions = {}): this {
    return this.add('scf', opts, this.lastOf(['relax']));
  }
  thenBands(opts: StepOptions & { kpath?: 'auto' | string[]; kpointsPerSegment?: number } = {}): this {
    return this.add('bands', opts, this.lastOf(['scf']));
  }
  thenDos(opts: StepOptions & { mesh?: [number, number, number]; projected?: boolean } = {}): this {
    return this.add('dos', opts, this.lastOf(['scf']));
  }
  withGw(opts: StepOptions & { nBands?: number } = {}): this {
    return this.add('gw', { code: 'yambo', ...opts }, this.lastOf(['scf']));
  }
  withBse(opts: StepOptions & { nValence?: number; nConduction?: number } = {}): this {
    return this.add('bse', { code: 'yambo', ...opts }, this.lastOf(['gw', 'scf']));
  }
  thenPhonon(opts: StepOptions & { supercell?: [number, number, number]; displacement?: number } = {}): this {
    return this.add('phonon', opts, this.lastOf(['relax', 'scf']));
  }

  // --- how and where
  onCluster(name: string, opts: { partition?: string; resources?: Partial<StepResources> } = {}): this {
    this.cluster = name;
    this.partition = opts.partition;
    this.resources = opts.resources;
    return this;
  }
  withPseudoFamily(name: string): this {
    this.pseudoFamily = name;
    return this;
  }
  /** Spin polarisation: `collinear`, `none`, or `auto` (the default: collinear for metals with open d / f shells). */
  withMagnetism(magnetism: Magnetism): this {
    this.magnetism = magnetism;
    return this;
  }
  withProtocol(protocol: Protocol): this {
    this.protocol = protocol;
    return this;
  }
  /** The recovery strategy, the bound on attempts, and custom rules (data the workflow interprets; see recovery/rules.ts). */
  withRecovery(strategy: StrategyName, opts: { maxAttempts?: number; rules?: RecoveryRuleInput[] } = {}): this {
    this.recovery = { strategy, maxAttempts: opts.maxAttempts ?? this.recovery.maxAttempts, rules: opts.rules ?? this.recovery.rules };
    return this;
  }
  withOutput(dir: string): this {
    this.outputDir = dir;
    return this;
  }
  /** Report progress while `run()` waits (default: one line per change on stdout). */
  withProgress(onProgress: (update: ProgressUpdate) => void = printProgress): this {
    this.progress = onProgress;
    return this;
  }
  named(name: string): this {
    this.name = name;
    return this;
  }

  async build(): Promise<BuiltWorkflow> {
    await this.pending;
    if (!this.structure) throw new BuildError('no structure: call fromFile, fromStructure or fromMaterialsProject first');
    const resources = this.resources || this.partition ? { ...(this.resources ?? {}), ...(this.partition ? { partition: this.partition } : {}) } : undefined;
    return buildPlan(
      {
        version: 1,
        name: this.name,
        structure: this.structure,
        structureSource: this.structureSource,
        protocol: this.protocol,
        pseudoFamily: this.pseudoFamily,
        magnetism: this.magnetism,
        cluster: this.cluster,
        recovery: this.recovery,
        outputDir: this.outputDir,
        steps: this.steps.map((s) => (resources ? { ...s, resources } : s)),
      },
      { ...this.options, onProgress: this.progress },
    );
  }

  private lastOf(types: StepType[]): string[] {
    for (const type of types) {
      const step = [...this.steps].reverse().find((s) => s.type === type);
      if (step) return [step.name];
    }
    return [];
  }

  private add(type: StepType, opts: StepOptions, dependsOn: string[]): this {
    const { code, protocol, ...parameters } = opts;
    const parentCode = this.steps.find((s) => dependsOn.includes(s.name))?.code;
    const name = this.steps.some((s) => s.name === type) ? `${type}${this.steps.filter((s) => s.type === type).length + 1}` : type;
    this.steps.push({
      name,
      type,
      code: code ?? (parentCode && codeCanRun(parentCode, type) ? parentCode : (this.options.dftCode ?? 'quantum_espresso')),
      parameters,
      dependsOn,
      ...(protocol ? { protocol } : {}),
    });
    return this;
  }
}

function printProgress(u: ProgressUpdate): void {
  console.log(`[${u.percent.toFixed(0).padStart(3)}%] ${u.stepName ?? ''} ${u.message}`);
}

/**
 * Checks a plan as far as it can be checked before anything runs, and returns it ready to run. Used by
 * `WorkflowBuilder.build()` and the analysis runners: impossible plans and steps that have not landed fail here.
 */
export function buildPlan(
  input: WorkflowPlanInput,
  options: { client?: Client; taskQueue?: string; onProgress?: (update: ProgressUpdate) => void } = {},
): BuiltWorkflow {
  const steps = input.steps ?? [];
  if (steps.length === 0) throw new BuildError('no steps: add relax(), scf(), ...');
  for (const step of steps) {
    const code = step.code;
    if (!codeCanRun(code, step.type)) throw new BuildError(`step "${step.name}": ${code} cannot compute ${step.type}`);
    if ((step.type === 'bse' || step.type === 'gw') && !step.dependsOn?.length) {
      throw new BuildError(`step "${step.name}": ${step.type === 'bse' ? 'BSE needs a GW or DFT (scf)' : 'GW needs a DFT (scf)'} step before it`);
    }
  }
  const cluster = input.cluster ?? 'local';
  let profile;
  try {
    profile = getClusterProfile(cluster);
  } catch (e) {
    throw new BuildError(`onCluster("${cluster}"): ${e instanceof ClusterProfileError ? e.message : (e as Error).message}`);
  }
  for (const step of steps) {
    const exe = executableOf(step.code);
    if (!(exe in profile.executables)) throw new BuildError(`step "${step.name}": cluster ${cluster} has no ${step.code} (no "${exe}" in its executables)`);
    const reason = unsupportedStepReason(step, { cluster, steps: steps.map((s) => ({ name: s.name, type: s.type, dependsOn: s.dependsOn ?? [] })) });
    if (reason) throw new BuildError(reason);
    const partition = step.resources?.partition;
    if (partition && !profile.partitions.some((p) => p.name === partition)) {
      throw new BuildError(`onCluster("${cluster}", { partition: "${partition}" }): no such partition (has ${profile.partitions.map((p) => p.name).join(', ')})`);
    }
  }
  const parsed = WorkflowPlanSchema.safeParse(input);
  if (!parsed.success) throw new BuildError(`invalid plan: ${describeZodError(parsed.error)}`);
  return new BuiltWorkflow(parsed.data, options);
}

/** A validated plan, ready to run; knows its workflow id before it is submitted. */
export class BuiltWorkflow {
  readonly workflowId: string;
  constructor(
    readonly plan: WorkflowPlan,
    private readonly options: { client?: Client; taskQueue?: string; onProgress?: (update: ProgressUpdate) => void },
  ) {
    this.workflowId = workflowIdFor(plan.name ?? plan.steps.map((s) => s.type).join('-'), plan.structure);
  }

  get steps() {
    return this.plan.steps;
  }

  /** Starts the workflow and returns its id at once. */
  async submit(): Promise<string> {
    await withClient(this.options.client, (client) =>
      client.workflow.start('plan', { taskQueue: this.options.taskQueue ?? loadSettings().taskQueue, workflowId: this.workflowId, args: [this.plan] }),
    );
    return this.workflowId;
  }

  /** Submits and waits for the result (reporting progress when the builder had `withProgress`). */
  async run(): Promise<PlanResult> {
    if (this.options.onProgress) {
      for await (const update of this.runAsync()) {
        this.options.onProgress(update);
        if (update.status === 'completed') return update.intermediateResult as PlanResult;
      }
    }
    await this.submit();
    return Workflow.getResult<PlanResult>(this.workflowId, { client: this.options.client });
  }

  /** Submits, then yields progress (from the workflow's `progress` query) until it ends. */
  async *runAsync(opts: { pollMs?: number } = {}): AsyncGenerator<ProgressUpdate> {
    await this.submit();
    const client = this.options.client ?? (await connectClient());
    try {
      const handle = client.workflow.getHandle(this.workflowId);
      let last = '';
      const finished = handle.result().then(
        (r) => ({ ok: true as const, r: r as PlanResult }),
        (e) => ({ ok: false as const, e }),
      );
      for (;;) {
        const outcome = await Promise.race([finished, new Promise<undefined>((r) => setTimeout(() => r(undefined), opts.pollMs ?? 500))]);
        if (outcome) {
          if (outcome.ok) yield { percent: 100, message: 'completed', status: 'completed', intermediateResult: outcome.r };
          else {
            const e = outcome.e as Error;
            yield { percent: 100, message: e.message, status: 'failed' };
            throw new WorkflowRunError((e as { cause?: Error }).cause?.message ?? e.message);
          }
          return;
        }
        let progress: PlanProgress | undefined;
        try {
          progress = await client.connection.withDeadline(Date.now() + 3000, () => handle.query<PlanProgress>('progress'));
        } catch {
          continue; // not started by a worker yet
        }
        const key = JSON.stringify([progress.percent, progress.stepName, progress.message]);
        if (key !== last && progress.status === 'running') {
          last = key;
          yield { percent: progress.percent, stepName: progress.stepName, message: progress.message, status: 'running', intermediateResult: progress.results };
        }
      }
    } finally {
      if (!this.options.client) await client.connection.close();
    }
  }

  async cancel(): Promise<void> {
    await Workflow.cancel(this.workflowId, { client: this.options.client });
  }
}
