/**
 * `plan`: executes a WorkflowPlan (the DAG `WorkflowBuilder` builds). Each step is a `calculation` child
 * workflow (a relax step the `relax` loop; bands and DOS steps their pw.x child plus analysis activities, as in
 * the standard analysis); steps start as soon as their dependencies are done, so independent steps run in parallel.
 * A failed step stops its dependants only; the others finish, and the plan then fails with every
 * result gathered so far (nothing computed is lost). A cancelled plan starts nothing more, waits until its
 * running steps have stopped (their children cancel their jobs), and ends cancelled.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  defineQuery,
  executeChild,
  isCancellation,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { QE_PW_ID, type PwCalculationResult } from '../domain/codes/qe/pw.ts';
import { describeZodError } from '../domain/calculation.ts';
import { readySteps, WorkflowPlanSchema, type WorkflowPlan, type WorkflowPlanInput } from '../domain/plan/plan.ts';
import { bandsStepOptions, calculationInputForStep, dosStepOptions, scfStepFor, unsupportedStepReason } from '../domain/plan/steps.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../domain/search-attributes.ts';
import { cellFormula } from '../domain/structure/lattice.ts';
import type { BandsAnalysis, DosAnalysis, KPathInfo } from '../activities/analysis.ts';
import { executePwCalculation } from './pw-calculation.ts';
import { runBands, runDos } from './electronic.ts';
import { PATCHES } from './patches.ts';
import { relax } from './relax.ts';
import { pinLocalExecutor } from './local-host.ts';
import { LOCAL_CLUSTER } from '../domain/jobs.ts';

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

export interface PlanProgress {
  /** 0–100: finished steps over all steps. */
  percent: number;
  status: 'running' | 'completed' | 'failed';
  /** The step that changed last. */
  stepName?: string;
  message: string;
  steps: { name: string; type: string; status: StepStatus; workflowId: string; error?: string }[];
  /** Results of the steps finished so far (small summaries, not files). */
  results: Record<string, PwCalculationResult>;
}
export const planProgressQuery = defineQuery<PlanProgress>('progress');

/** What a bands or DOS step found beyond its pw.x run (numbers and artifact references). */
export interface StepAnalysis {
  bands?: BandsAnalysis;
  kPath?: Pick<KPathInfo, 'spaceGroupNumber' | 'internationalSymbol' | 'crystalSystem' | 'variant'>;
  dos?: DosAnalysis;
}

export interface PlanResult {
  workflowId: string;
  name?: string;
  formula: string;
  ok: boolean;
  steps: PlanProgress['steps'];
  results: Record<string, PwCalculationResult>;
  /** Bands / DOS steps: gap, path, DOS (absent in results of plans without such steps). */
  analyses?: Record<string, StepAnalysis>;
}

export async function plan(raw: WorkflowPlanInput): Promise<PlanResult> {
  const parsed = WorkflowPlanSchema.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid workflow plan: ${describeZodError(parsed.error)}`, 'InvalidPlan');
  const p: WorkflowPlan = parsed.data;
  for (const step of p.steps) {
    const reason = unsupportedStepReason(step, p);
    if (reason) throw ApplicationFailure.nonRetryable(reason, 'NotSupported');
  }
  const { workflowId } = workflowInfo();
  const formula = cellFormula(p.structure);
  const analysis = p.name ?? p.steps.map((s) => s.type).join('+');
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.formula, value: formula },
    { key: SEARCH_ATTRIBUTE_KEYS.analysis, value: analysis },
    { key: SEARCH_ATTRIBUTE_KEYS.code, value: [...new Set(p.steps.map((s) => s.code))].join(',') },
    { key: SEARCH_ATTRIBUTE_KEYS.cluster, value: p.cluster },
  ]);
  upsertMemo({ formula, steps: p.steps.map((s) => s.name), protocol: p.protocol });

  const progress: PlanProgress = {
    percent: 0,
    status: 'running',
    message: 'starting',
    steps: p.steps.map((s) => ({ name: s.name, type: s.type, status: 'pending', workflowId: `${workflowId}-${s.name}` })),
    results: {},
  };
  setHandler(planProgressQuery, () => progress);
  const entry = (name: string) => progress.steps.find((s) => s.name === name)!;
  const update = (name: string, status: StepStatus, message: string, error?: string) => {
    const e = entry(name);
    e.status = status;
    if (error) e.error = error;
    progress.stepName = name;
    progress.message = message;
    const finished = progress.steps.filter((s) => s.status !== 'pending' && s.status !== 'running').length;
    progress.percent = Math.round((100 * finished) / progress.steps.length);
  };

  const analyses: Record<string, StepAnalysis> = {};
  const done = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const failed = new Set<string>();
  /** The cancellation a step ended with: the plan ends cancelled once every running step has stopped. */
  let cancelled: unknown;

  // Local steps run on one host: their charge densities and files are there.
  const localExecutor = p.cluster === LOCAL_CLUSTER ? await pinLocalExecutor({ kind: 'local' as const }) : undefined;
  const runStep = async (name: string): Promise<void> => {
    const step = p.steps.find((s) => s.name === name)!;
    update(name, 'running', `${name}: running ${step.type} (${step.code})`);
    try {
      const input = { ...calculationInputForStep(p, step, progress.results), ...(localExecutor ? { executor: localExecutor } : {}) };
      let result: PwCalculationResult;
      if (step.type === 'relax') {
        // A relax step is the full PwRelaxWorkChain loop, not a single vc-relax.
        const { calculation: _calculation, kpoints: _kpoints, parent: _parent, analysis: _analysis, ...relaxInput } = input;
        result = await executeChild(relax, { workflowId: entry(name).workflowId, args: [{ ...relaxInput, code: QE_PW_ID }] });
      } else if (step.type === 'bands' || step.type === 'dos') {
        // Its scf has completed (a dependency), so its charge density is there to restart from.
        const scf = progress.results[scfStepFor(p.steps, step)!]!;
        const childId = entry(name).workflowId;
        const artifactPrefix = `${workflowId}/${name}`;
        if (step.type === 'bands') {
          const run = await runBands({ childId, base: input, scf, pointsPerSegment: bandsStepOptions(step).kpointsPerSegment, artifactPrefix });
          const { spaceGroupNumber, internationalSymbol, crystalSystem, variant } = run.path;
          analyses[name] = { bands: run.analysis, kPath: { spaceGroupNumber, internationalSymbol, crystalSystem, variant } };
          result = run.calculation;
        } else {
          const o = dosStepOptions(step);
          const run = await runDos({ childId, base: input, scf, mesh: o.mesh, projected: o.projected, workflowId, step: name, artifactPrefix });
          analyses[name] = { dos: run.analysis };
          result = run.calculation;
        }
      } else {
        result = await executePwCalculation({ workflowId: entry(name).workflowId, args: [input] });
      }
      progress.results[name] = result;
      update(name, 'completed', `${name}: done`);
    } catch (err) {
      failed.add(name);
      // The plan itself was cancelled (not just this child). (patched only here: other histories carry no marker)
      if (isCancellation(err) && CancellationScope.current().consideredCancelled && patched(PATCHES.planCancelled)) {
        cancelled = err;
        update(name, 'cancelled', `${name}: cancelled`);
        return;
      }
      const cause = err instanceof ChildWorkflowFailure && err.cause ? err.cause : err;
      if (cause instanceof ApplicationFailure && cause.type === 'CalculationFailed' && cause.details?.[0]) {
        progress.results[name] = cause.details[0] as PwCalculationResult;
      }
      update(name, 'failed', `${name}: failed`, (cause as Error).message);
    } finally {
      done.add(name);
      running.delete(name);
    }
  };

  for (;;) {
    // Steps whose dependencies failed (or were skipped) never run.
    for (const s of p.steps) {
      if (!done.has(s.name) && !running.has(s.name) && s.dependsOn.some((d) => failed.has(d))) {
        failed.add(s.name);
        done.add(s.name);
        update(s.name, 'skipped', `${s.name}: skipped (a dependency failed)`);
      }
    }
    if (cancelled === undefined) for (const name of readySteps(p.steps, done, new Set(running.keys()))) running.set(name, runStep(name));
    if (running.size === 0) break;
    await Promise.race(running.values());
  }

  // Every step has stopped (the children's jobs cancelled): end as cancelled, not failed.
  if (cancelled !== undefined) throw cancelled;
  const ok = failed.size === 0;
  progress.status = ok ? 'completed' : 'failed';
  progress.message = ok ? 'all steps completed' : `failed: ${[...failed].join(', ')}`;
  const result: PlanResult = { workflowId, name: p.name, formula, ok, steps: progress.steps, results: progress.results, ...(Object.keys(analyses).length ? { analyses } : {}) };
  if (!ok) throw ApplicationFailure.nonRetryable(`plan ${workflowId}: ${progress.message}`, 'PlanFailed', result);
  return result;
}
