/**
 * Band structure and DOS after an scf, one implementation for the `standardAnalysis` workflow and for `bands`
 * / `dos` steps of a `plan`: the pw.x runs are self-healing `calculation` children restarting from the scf's
 * charge density; the k-path, dos.x / projwfc.x and the analyses are activities; arrays go to the artifact
 * store and only references come back.
 */
import { type ActivityOptions, ApplicationFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { BandsAnalysis, DosAnalysis, KPathInfo } from '../activities/analysis.ts';
import type { CalculationInput } from '../domain/calculation.ts';
import type { PwCalculationResult } from '../domain/codes/qe/pw.ts';
import type { PwParameters } from '../domain/codes/qe/inputs.ts';
import { dosWindow } from '../domain/codes/qe/postprocess.ts';
import { executorTaskQueue, type ExecutorSpec } from '../domain/jobs.ts';
import { onExecutorQueue } from './local-host.ts';
import { executePwCalculation } from './pw-calculation.ts';
import { clusterActivities, runClusterJob } from './cluster-jobs.ts';
import { PATCHES } from './patches.ts';

/** Short analysis activities (k-path, dos.x / projwfc.x beside the worker, analyses, figures). */
const ANALYSIS_WORK: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
};
const analysisWork = proxyActivities<Activities>(ANALYSIS_WORK);

/** Analysis activities beside an executor's files and artifacts: a local executor's pinned host, else any worker. */
export function analysisWorkNear(executor: ExecutorSpec) {
  return proxyActivities<Activities>(onExecutorQueue(ANALYSIS_WORK, executor));
}

export interface BandsRun {
  calculation: PwCalculationResult;
  path: KPathInfo;
  analysis: BandsAnalysis;
}

/** pw.x `bands` along the structure's standard k-path (from the scf's charge density), then the gap analysis. */
export async function runBands(o: { childId: string; base: CalculationInput; scf: PwCalculationResult; pointsPerSegment: number; artifactPrefix: string }): Promise<BandsRun> {
  const path = await analysisWork.kPathFor({ structure: o.base.structure, pointsPerSegment: o.pointsPerSegment });
  const result = await executePwCalculation({
    workflowId: o.childId,
    args: [
      {
        ...o.base,
        calculation: 'bands',
        kpath: path.lines.map(([l, k, n]) => [l, [k[0], k[1], k[2]], n] as [string, [number, number, number], number]),
        parent: chargeDensityOf(o.scf),
        parameters: withScfBands(o.base.parameters, o.scf),
      },
    ],
  });
  // The band energies are read where the run was: on a cluster, by a worker of that cluster's queue.
  const executor = o.base.executor ?? { kind: 'local' };
  const request = { workDir: result.remoteFolder.path, lines: path.lines, artifactPrefix: o.artifactPrefix };
  const analysis =
    executor.kind === 'local'
      ? await analysisWorkNear(executor).analyzeBands(request)
      : await clusterActivities(executorTaskQueue(workflowInfo().taskQueue, executor)).analyzeBands({ ...request, cluster: executor.cluster });
  return { calculation: result, path, analysis };
}

export interface DosRun {
  calculation: PwCalculationResult;
  analysis: DosAnalysis;
}

/**
 * pw.x `nscf` on a denser mesh (default: twice the scf's), then dos.x and, when `projected`, projwfc.x (work
 * directories `<workflowId>/<step>` and `<workflowId>/<step>-projwfc`), then the DOS analysis. Locally the tools
 * run beside the worker; on a cluster they are serial SLURM jobs, and the cluster queue's worker analyses them.
 */
export async function runDos(o: {
  childId: string;
  base: CalculationInput;
  scf: PwCalculationResult;
  mesh?: [number, number, number];
  projected: boolean;
  workflowId: string;
  step: string;
  artifactPrefix: string;
}): Promise<DosRun> {
  const mesh = o.mesh ?? (o.scf.inputSummary.kMesh.map((n) => 2 * n) as [number, number, number]);
  const parameters = withScfBands(o.base.parameters, o.scf);
  // Tetrahedra: the DOS of an insulator without smearing tails into the gap.
  parameters.system = { ...parameters.system, occupations: 'tetrahedra' };
  const result = await executePwCalculation({
    workflowId: o.childId,
    args: [{ ...o.base, calculation: 'nscf', kpoints: { mesh }, parent: chargeDensityOf(o.scf), parameters }],
  });
  const window = patched(PATCHES.dosWindowAtReference) ? dosWindow(o.scf.outputs) : { emin: -20, emax: 20, deltaE: 0.02 };
  const executor = o.base.executor ?? { kind: 'local' };
  if (executor.kind === 'local') {
    const local = analysisWorkNear(executor);
    const dosRun = await local.runPostprocess({ kind: 'dos', parentWorkDir: result.remoteFolder.path, workflowId: o.workflowId, step: o.step, ...window });
    const projRun = o.projected
      ? await local.runPostprocess({ kind: 'projwfc', parentWorkDir: result.remoteFolder.path, workflowId: o.workflowId, step: `${o.step}-projwfc`, ...window })
      : undefined;
    const analysis = await local.analyzeDos({ dosWorkDir: dosRun.workDir, projwfcWorkDir: projRun?.workDir, artifactPrefix: o.artifactPrefix });
    return { calculation: result, analysis };
  }
  const queue = executorTaskQueue(workflowInfo().taskQueue, executor);
  const onCluster = clusterActivities(queue);
  const runJob = async (kind: 'dos' | 'projwfc', step: string): Promise<string> => {
    const spec = await onCluster.preparePostprocessJob({ kind, parentWorkDir: result.remoteFolder.path, workflowId: o.workflowId, step, cluster: executor.cluster, ...window });
    const outcome = await runClusterJob(onCluster, spec, spec.resources, queue);
    if (outcome.state !== 'completed') {
      throw ApplicationFailure.nonRetryable(`${kind}.x on ${executor.cluster} ended ${outcome.state}${outcome.message ? `: ${outcome.message}` : ''} (see ${spec.workDir})`, 'PostprocessFailed');
    }
    return spec.workDir;
  };
  const dosWorkDir = await runJob('dos', o.step);
  const projwfcWorkDir = o.projected ? await runJob('projwfc', `${o.step}-projwfc`) : undefined;
  const analysis = await onCluster.analyzeDos({ dosWorkDir, projwfcWorkDir, artifactPrefix: o.artifactPrefix, cluster: executor.cluster });
  return { calculation: result, analysis };
}

const chargeDensityOf = (scf: PwCalculationResult) => ({ workDir: scf.remoteFolder.path, kind: 'charge-density' as const });

/** Bands and nscf need the scf's empty bands too (an insulator's scf already has some; see insulatorBands). */
function withScfBands(parameters: CalculationInput['parameters'], scf: PwCalculationResult): PwParameters {
  const p: PwParameters = JSON.parse(JSON.stringify(parameters ?? {})); // (no structuredClone in the workflow sandbox)
  const nbnd = scf.outputs.numberOfBands;
  if (nbnd !== undefined && p.system?.nbnd === undefined) p.system = { ...p.system, nbnd };
  return p;
}
