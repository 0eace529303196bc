/**
 * Activities of the `calculation` workflow: stage the inputs, run the job on an executor, parse the
 * outputs and store artifacts. They return summaries and references only; files stay on disk.
 *
 * Two places a calculation can run:
 * - `local`: the worker's own machine; work directory under the worker's settings, files on its disk.
 * - a SLURM cluster: everything through the cluster's Transport (SSH from a central worker, or the local
 *   machine for a worker on the login node). The work directory is under the profile's `workDir`, pw.in and
 *   the batch script are written there, the pseudopotential family is uploaded once per cluster
 *   (`<workDir>/pseudos/<family>/`), restarts copy the parent's files on the cluster, and the outputs are read
 *   back for parsing and copied into the worker's artifact store.
 * The code's executable comes from the cluster profile's `executables` in both cases (`local`: the built-in
 * profile, or a `local.yaml` in the clusters directory that overrides it).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { log } from '@temporalio/activity';
import type { ArtifactRef } from '../domain/artifacts.ts';
import type { ValidCalculationInput } from '../domain/calculation.ts';
import { buildPwInput, type PwParameters } from '../domain/codes/qe/inputs.ts';
import { buildPwBandsInput } from '../domain/codes/qe/bands.ts';
import type { RestartFrom } from '../domain/codes/qe/handlers.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { parsePwOutput, type PwResult } from '../domain/codes/qe/parse.ts';
import { PW_FILES, pwCommand, pwXmlPath } from '../domain/codes/qe/files.ts';
import { jobDirParts, jobNameFor, LOCAL_CLUSTER, outsideRootProblem, type JobOutcome, type JobSpec, type Resources } from '../domain/jobs.ts';
import { BatchScriptError, renderBatchScript, SLURM_FILES } from '../domain/slurm.ts';
import type { ArtifactStore } from './artifacts.ts';
import { loadPseudoFamily } from './pseudos.ts';
import { activityProfile, executableFor, type ProfileSource } from './scheduler/profiles.ts';
import { keepAlive } from './scheduler/heartbeat.ts';
import { copyRemoteParentFiles, ensureRemotePseudoFamily, remotePath, withLocalTemp } from './scheduler/staging.ts';
import { transportFor, TransportFileError } from './transport/index.ts';

export interface PrepareRequest {
  /** Code, calculation, protocol, pseudo family, k-points, electronic type: fixed for the whole calculation. */
  input: ValidCalculationInput;
  /** What may change between attempts (repairs): the structure, the overrides, the resources. */
  structure: Structure;
  overrides: PwParameters;
  resources: Resources;
  workflowId: string;
  step: string;
  attempt: number;
  /** Stage a parent attempt's files: its charge density (`<prefix>.save`) or its whole outdir (full restart). */
  restart?: { fromWorkDir: string; kind: Exclude<RestartFrom, 'scratch'> };
}

export interface PreparedCalculation {
  job: JobSpec;
  inputSummary: { kMesh: [number, number, number]; kOffset: [number, number, number]; ecutwfc: number; ecutrho: number };
  /** The final namelists, for the parser (e.g. scf_must_converge) and for repairs. */
  parameters: Record<string, Record<string, unknown>>;
}

export interface ParseRequest {
  workflowId: string;
  step: string;
  attempt: number;
  workDir: string;
  outcome: JobOutcome;
  parameters: Record<string, Record<string, unknown>>;
  /** The cluster the work directory is on; absent or `local`: the worker's own disk. */
  cluster?: string;
}

export interface ParsedCalculation {
  result: PwResult;
  artifacts: ArtifactRef[];
}

/** Where a restart's files come from and go to, relative to the work directories. */
function parentFilesOf(kind: 'charge-density' | 'full'): string {
  return kind === 'full' ? PW_FILES.outdir : `${PW_FILES.outdir}/${PW_FILES.prefix}.save`;
}

/**
 * Copies what a restart reads from its parent: the `<prefix>.save` directory (charge density, XML) for
 * `startingpot='file'`, or the whole outdir (wavefunctions, restart files too) for `restart_mode='restart'`.
 * Copies, not links: the parent's files stay as they were, for provenance and for a later retry.
 */
async function stageParentFiles(parentDir: string, workDir: string, kind: 'charge-density' | 'full'): Promise<void> {
  const from = join(parentDir, parentFilesOf(kind));
  const to = join(workDir, parentFilesOf(kind));
  if (!existsSync(from)) {
    throw ApplicationFailure.nonRetryable(`cannot restart from ${from}: the parent calculation left no such files`, 'RestartFilesMissing');
  }
  await cp(from, to, { recursive: true });
}

/** A restart reads only below the work root it runs in: a parent directory elsewhere is refused, naming the field. */
function confinedParentDir(dir: string, root: string, where: string): string {
  const problem = outsideRootProblem(dir, root);
  if (problem) throw ApplicationFailure.nonRetryable(`parent.workDir ${JSON.stringify(dir)} ${problem} (${where})`, 'InvalidCalculationInput');
  return dir;
}

/** The files of a pw.x run that are parsed and kept as artifacts, relative to its work directory. */
const KEPT_FILES = () => [PW_FILES.input, PW_FILES.stdout, PW_FILES.stderr, PW_FILES.crash, pwXmlPath()];

export interface CalculationDeps {
  workRoot: string;
  pseudoRoot: string;
  store: ArtifactStore;
  /** Where cluster profiles are read from (`local` included). */
  profiles: ProfileSource;
}

function buildInput(req: PrepareRequest, pseudoDir: string, family: Awaited<ReturnType<typeof loadPseudoFamily>>) {
  const { input } = req;
  try {
    const request = {
      structure: req.structure,
      calculation: input.calculation,
      protocol: input.protocol,
      family: family.family,
      pseudoDir,
      outdir: PW_FILES.outdir,
      prefix: PW_FILES.prefix,
      kpoints: input.kpoints,
      electronicType: input.electronicType,
      valenceElectrons: family.valenceElectrons,
      overrides: req.overrides,
      walltimeSeconds: req.resources.walltimeSeconds,
    };
    if (input.calculation === 'bands' && input.kpath) {
      // A band structure along a path: the k-points are the path's (kMesh 0x0x0 says "not a mesh").
      const bands = buildPwBandsInput({ ...request, path: input.kpath });
      return { ...bands, kpoints: { mesh: [0, 0, 0] as [number, number, number], offset: [0, 0, 0] as [0 | 1, 0 | 1, 0 | 1] } };
    }
    return buildPwInput(request);
  } catch (e) {
    // Bad parameters or a structure the family cannot describe: retrying cannot help.
    throw ApplicationFailure.nonRetryable((e as Error).message, 'InvalidCalculationInput');
  }
}

function summaryOf(pw: ReturnType<typeof buildInput>): Omit<PreparedCalculation, 'job'> {
  return {
    inputSummary: { kMesh: pw.kpoints.mesh, kOffset: pw.kpoints.offset, ecutwfc: pw.ecutwfc, ecutrho: pw.ecutrho },
    parameters: pw.parameters as Record<string, Record<string, unknown>>,
  };
}

export function calculationActivities(deps: CalculationDeps) {
  async function prepareLocal(req: PrepareRequest): Promise<PreparedCalculation> {
    const { input } = req;
    const workDir = join(deps.workRoot, ...jobDirParts(req.workflowId, req.step, req.attempt));
    const profile = activityProfile(LOCAL_CLUSTER, deps.profiles);
    const exe = executableFor(profile, input.code);
    const family = await loadPseudoFamily(deps.pseudoRoot, input.pseudoFamily);
    const pw = buildInput(req, family.dir, family);
    await mkdir(workDir, { recursive: true });
    // A retried prepare must not touch the files of a job that has already started.
    if (!existsSync(join(workDir, '.crystalmath', 'started'))) {
      if (req.restart) await stageParentFiles(confinedParentDir(req.restart.fromWorkDir, deps.workRoot, "this worker's work directory"), workDir, req.restart.kind);
      await writeFile(join(workDir, PW_FILES.input), pw.text);
    }
    const environment = { ...profile.environment, ...exe.environment };
    return {
      job: {
        jobName: jobNameFor(req.workflowId, req.step, req.attempt),
        step: req.step,
        workDir,
        command: pwCommand(exe.executable),
        stdoutFile: PW_FILES.stdout,
        stderrFile: PW_FILES.stderr,
        resources: req.resources,
        ...(Object.keys(environment).length ? { environment } : {}),
      },
      ...summaryOf(pw),
    };
  }

  async function prepareOnCluster(req: PrepareRequest, cluster: string): Promise<PreparedCalculation> {
    const { input } = req;
    const profile = activityProfile(cluster, deps.profiles);
    if (profile.scheduler !== 'slurm') {
      throw ApplicationFailure.nonRetryable(`cluster ${cluster} has scheduler "${profile.scheduler}"; the slurm executor needs a SLURM profile`, 'ClusterProfileError');
    }
    const exe = executableFor(profile, input.code);
    const t = transportFor(profile);
    const workDir = remotePath(profile.workDir, ...jobDirParts(req.workflowId, req.step, req.attempt));
    const family = await loadPseudoFamily(deps.pseudoRoot, input.pseudoFamily);
    const pseudoDir = await ensureRemotePseudoFamily(t, profile, family);
    const pw = buildInput(req, pseudoDir, family);
    const jobName = jobNameFor(req.workflowId, req.step, req.attempt);
    const command = pwCommand(exe.executable);
    let script: string;
    try {
      script = renderBatchScript({ jobName, workDir, command, stdoutFile: PW_FILES.stdout, stderrFile: PW_FILES.stderr, resources: req.resources, profile, executable: exe });
    } catch (e) {
      if (e instanceof BatchScriptError) throw ApplicationFailure.nonRetryable(e.message, 'InvalidResources');
      throw e;
    }
    await t.mkdirp(remotePath(workDir, SLURM_FILES.meta));
    // A retried prepare must not touch the files of a job that has already been submitted.
    const submitted = (await t.exists(remotePath(workDir, SLURM_FILES.sbatchJobId))) || (await t.exists(remotePath(workDir, SLURM_FILES.jobId)));
    if (!submitted) {
      if (req.restart) {
        const rel = parentFilesOf(req.restart.kind);
        const parentDir = confinedParentDir(req.restart.fromWorkDir, profile.workDir, `the workDir of cluster ${cluster}`);
        await copyRemoteParentFiles(t, remotePath(parentDir, rel), remotePath(workDir, rel));
      }
      await t.writeFile(remotePath(workDir, PW_FILES.input), pw.text);
      await t.writeFile(remotePath(workDir, SLURM_FILES.script), script, { mode: 0o755 });
    }
    return {
      job: {
        jobName,
        step: req.step,
        workDir,
        command,
        stdoutFile: PW_FILES.stdout,
        stderrFile: PW_FILES.stderr,
        resources: req.resources,
        executor: 'slurm',
        cluster,
        batchScript: remotePath(workDir, SLURM_FILES.script),
      },
      ...summaryOf(pw),
    };
  }

  async function parseLocal(req: ParseRequest): Promise<ParsedCalculation> {
    const read = async (name: string) => (existsSync(join(req.workDir, name)) ? readFile(join(req.workDir, name), 'utf8') : undefined);
    const result = await parse(req, read);
    const artifacts: ArtifactRef[] = [];
    const prefix = jobDirParts(req.workflowId, req.step, req.attempt).join('/');
    for (const name of KEPT_FILES()) {
      const path = join(req.workDir, name);
      if (existsSync(path)) artifacts.push(await deps.store.putFile(`${prefix}/${name.split('/').pop()}`, path));
    }
    return { result, artifacts };
  }

  /** Downloads the kept files once (to a private temporary directory), parses them there, stores them. */
  async function parseOnCluster(req: ParseRequest, cluster: string): Promise<ParsedCalculation> {
    const profile = activityProfile(cluster, deps.profiles);
    const t = transportFor(profile);
    return withLocalTemp(async (tmp) => {
      const local = new Map<string, string>();
      for (const name of KEPT_FILES()) {
        const to = join(tmp, name.replace(/\//g, '__'));
        try {
          await t.download(remotePath(req.workDir, name), to);
          local.set(name, to);
        } catch (e) {
          if (!(e instanceof TransportFileError && e.code === 'ENOENT')) throw e;
        }
      }
      const result = await parse(req, async (name) => (local.has(name) ? readFile(local.get(name)!, 'utf8') : undefined));
      const artifacts: ArtifactRef[] = [];
      const prefix = jobDirParts(req.workflowId, req.step, req.attempt).join('/');
      for (const [name, path] of local) artifacts.push(await deps.store.putFile(`${prefix}/${name.split('/').pop()}`, path));
      return { result, artifacts };
    });
  }

  async function parse(req: ParseRequest, read: (name: string) => Promise<string | undefined>): Promise<PwResult> {
    return parsePwOutput({
      stdout: await read(PW_FILES.stdout),
      xml: await read(pwXmlPath()),
      crash: await read(PW_FILES.crash),
      processExitStatus: req.outcome.exitStatus,
      schedulerOutOfWalltime: req.outcome.state === 'timeout',
      parameters: req.parameters,
    });
  }

  return {
    async prepareCalculation(req: PrepareRequest): Promise<PreparedCalculation> {
      const executor = req.input.executor;
      const prepared = executor.kind === 'local' ? await prepareLocal(req) : await keepAlive(() => prepareOnCluster(req, executor.cluster));
      log.info(`prepared ${req.input.code} ${req.input.calculation} input, attempt ${req.attempt}`, { calculationAttempt: req.attempt, workDir: prepared.job.workDir, restart: req.restart?.kind ?? 'scratch' });
      return prepared;
    },

    async parseCalculation(req: ParseRequest): Promise<ParsedCalculation> {
      const cluster = req.cluster;
      const parsed = !cluster || cluster === LOCAL_CLUSTER ? await parseLocal(req) : await keepAlive(() => parseOnCluster(req, cluster));
      const { exitCode, exitName } = parsed.result;
      log.info(`parsed attempt ${req.attempt}: exit code ${exitCode} ${exitName}`, { calculationAttempt: req.attempt, exitCode, jobState: req.outcome.state });
      return parsed;
    },
  };
}
