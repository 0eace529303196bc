/**
 * Activities of the `calculation` workflow: stage the inputs, run the job on an executor, parse the
 * outputs and store artifacts. They return summaries and references only; files stay on disk. What is
 * written, run, kept and parsed is the code's (`Code` from the registry, by the input's `code`).
 *
 * Two places a calculation can run:
 * - `local`: the worker's own machine; work directory under the worker's settings, files on its disk.
 * - a SLURM cluster: everything through the cluster's Transport (SSH from a central worker, or the local
 *   machine for a worker on the login node). The work directory is under the profile's `workDir`, the code's
 *   inputs and the batch script are written there, the pseudopotential family is uploaded once per cluster
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
import type { Code, CodeInput, CodeResult, InputSummary, RestartFrom } from '../domain/codes/code.ts';
import type { CodeParameters } from '../domain/codes/parameters.ts';
import { QE_PW_ID } from '../domain/codes/qe/pw.ts';
import { codeById } from '../domain/codes/registry.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { jobDirParts, jobNameFor, LOCAL_CLUSTER, outsideRootProblem, type JobOutcome, type JobSpec, type Resources } from '../domain/jobs.ts';
import { BatchScriptError, renderBatchScript, SLURM_FILES } from '../domain/slurm.ts';
import type { ArtifactStore } from './artifacts.ts';
import { loadPseudoFamily, type LoadedFamily } from './pseudos.ts';
import { activityProfile, executableFor, type ProfileSource } from './scheduler/profiles.ts';
import { keepAlive } from './scheduler/heartbeat.ts';
import { copyRemoteParentFiles, ensureRemotePseudoFamily, remotePath, withLocalTemp } from './scheduler/staging.ts';
import { transportFor, TransportFileError } from './transport/index.ts';

export interface PrepareRequest {
  /** Code, calculation, protocol, pseudo family, k-points, electronic type: fixed for the whole calculation. */
  input: ValidCalculationInput;
  /** What may change between attempts (repairs): the structure, the overrides, the resources. */
  structure: Structure;
  overrides: CodeParameters;
  resources: Resources;
  workflowId: string;
  step: string;
  attempt: number;
  /** Stage a parent attempt's files (the code's `restartFiles`: pw.x's `<prefix>.save` or its whole outdir). */
  restart?: { fromWorkDir: string; kind: Exclude<RestartFrom, 'scratch'> };
}

export interface PreparedCalculation {
  job: JobSpec;
  inputSummary: InputSummary;
  /** The final parameters (pw.x: namelists), for the parser (e.g. scf_must_converge) and for repairs. */
  parameters: CodeParameters;
}

export interface ParseRequest {
  workflowId: string;
  step: string;
  attempt: number;
  workDir: string;
  outcome: JobOutcome;
  parameters: CodeParameters;
  /** The code that ran (absent in requests made before codes had ids here: pw.x). */
  code?: string;
  /** The cluster the work directory is on; absent or `local`: the worker's own disk. */
  cluster?: string;
}

export interface ParsedCalculation {
  result: CodeResult;
  artifacts: ArtifactRef[];
}

/**
 * Copies what a restart reads from its parent (the code's `restartFiles`, e.g. pw.x's `<prefix>.save` directory
 * for a charge density, or its whole outdir to continue a run). Copies, not links: the parent's files stay as
 * they were, for provenance and for a later retry.
 */
async function stageParentFiles(code: Code, parentDir: string, workDir: string, kind: Exclude<RestartFrom, 'scratch'>): Promise<void> {
  for (const rel of code.restartFiles(kind)) {
    const from = join(parentDir, rel);
    if (!existsSync(from)) {
      throw ApplicationFailure.nonRetryable(`cannot restart from ${from}: the parent calculation left no such files`, 'RestartFilesMissing');
    }
    await cp(from, join(workDir, rel), { recursive: true });
  }
}

/** A restart reads only below the work root it runs in: a parent directory elsewhere is refused, naming the field. */
function confinedParentDir(dir: string, root: string, where: string): string {
  const problem = outsideRootProblem(dir, root);
  if (problem) throw ApplicationFailure.nonRetryable(`parent.workDir ${JSON.stringify(dir)} ${problem} (${where})`, 'InvalidCalculationInput');
  return dir;
}

export interface CalculationDeps {
  workRoot: string;
  pseudoRoot: string;
  store: ArtifactStore;
  /** Where cluster profiles are read from (`local` included). */
  profiles: ProfileSource;
}

/** The code's input files for this attempt; a request the code cannot write fails at once (not retried). */
function writeInput(code: Code, req: PrepareRequest, pseudos: Awaited<ReturnType<typeof loadPseudos>>): CodeInput {
  const { input } = req;
  try {
    return code.writeInput({
      structure: req.structure,
      calculation: input.calculation,
      protocol: input.protocol,
      overrides: req.overrides,
      ...(input.kpoints ? { kpoints: input.kpoints } : {}),
      ...(input.kpath ? { kpath: input.kpath } : {}),
      electronicType: input.electronicType,
      magnetism: input.magnetism,
      walltimeSeconds: req.resources.walltimeSeconds,
      ...(pseudos ? { pseudos } : {}),
    });
  } catch (e) {
    // Bad parameters or a structure the family cannot describe: retrying cannot help.
    throw ApplicationFailure.nonRetryable((e as Error).message, 'InvalidCalculationInput');
  }
}

/** The input's pseudopotential family, when the code uses one; `dirOf` says where the code sees it. */
async function loadPseudos(code: Code, pseudoRoot: string, name: string, dirOf: (family: LoadedFamily) => Promise<string> | string) {
  if (code.pseudopotentials !== 'family') return undefined;
  const family = await loadPseudoFamily(pseudoRoot, name);
  return { family: family.family, dir: await dirOf(family), valenceElectrons: family.valenceElectrons };
}

const summaryOf = (written: CodeInput): Omit<PreparedCalculation, 'job'> => ({ inputSummary: written.summary, parameters: written.parameters });

/** The code of a parse request; requests recorded before they named it are pw.x's. */
const codeOf = (req: ParseRequest): Code => codeById(req.code ?? QE_PW_ID);

export function calculationActivities(deps: CalculationDeps) {
  async function prepareLocal(req: PrepareRequest): Promise<PreparedCalculation> {
    const { input } = req;
    const code = codeById(input.code);
    const workDir = join(deps.workRoot, ...jobDirParts(req.workflowId, req.step, req.attempt));
    const profile = activityProfile(LOCAL_CLUSTER, deps.profiles);
    const exe = executableFor(profile, code.id);
    const written = writeInput(code, req, await loadPseudos(code, deps.pseudoRoot, input.pseudoFamily, (f) => f.dir));
    await mkdir(workDir, { recursive: true });
    // A retried prepare must not touch the files of a job that has already started.
    if (!existsSync(join(workDir, '.crystalmath', 'started'))) {
      if (req.restart) await stageParentFiles(code, confinedParentDir(req.restart.fromWorkDir, deps.workRoot, "this worker's work directory"), workDir, req.restart.kind);
      for (const [name, text] of Object.entries(written.files)) await writeFile(join(workDir, name), text);
    }
    return {
      job: {
        jobName: jobNameFor(req.workflowId, req.step, req.attempt),
        step: req.step,
        workDir,
        command: code.command(exe.executable),
        stdoutFile: code.files.stdout,
        stderrFile: code.files.stderr,
        resources: req.resources,
        executableId: code.id,
      },
      ...summaryOf(written),
    };
  }

  async function prepareOnCluster(req: PrepareRequest, cluster: string): Promise<PreparedCalculation> {
    const { input } = req;
    const profile = activityProfile(cluster, deps.profiles);
    if (profile.scheduler !== 'slurm') {
      throw ApplicationFailure.nonRetryable(`cluster ${cluster} has scheduler "${profile.scheduler}"; the slurm executor needs a SLURM profile`, 'ClusterProfileError');
    }
    const code = codeById(input.code);
    const exe = executableFor(profile, code.id);
    const t = transportFor(profile);
    const workDir = remotePath(profile.workDir, ...jobDirParts(req.workflowId, req.step, req.attempt));
    const written = writeInput(code, req, await loadPseudos(code, deps.pseudoRoot, input.pseudoFamily, (f) => ensureRemotePseudoFamily(t, profile, f)));
    const jobName = jobNameFor(req.workflowId, req.step, req.attempt);
    const command = code.command(exe.executable);
    const { stdout: stdoutFile, stderr: stderrFile } = code.files;
    let script: string;
    try {
      script = renderBatchScript({ jobName, workDir, command, stdoutFile, stderrFile, resources: req.resources, profile, executable: exe });
    } catch (e) {
      if (e instanceof BatchScriptError) throw ApplicationFailure.nonRetryable(e.message, 'InvalidResources');
      throw e;
    }
    await t.mkdirp(remotePath(workDir, SLURM_FILES.meta));
    // A retried prepare must not touch the files of a job that has already been submitted.
    const submitted = (await t.exists(remotePath(workDir, SLURM_FILES.sbatchJobId))) || (await t.exists(remotePath(workDir, SLURM_FILES.jobId)));
    if (!submitted) {
      if (req.restart) {
        const parentDir = confinedParentDir(req.restart.fromWorkDir, profile.workDir, `the workDir of cluster ${cluster}`);
        for (const rel of code.restartFiles(req.restart.kind)) await copyRemoteParentFiles(t, remotePath(parentDir, rel), remotePath(workDir, rel));
      }
      for (const [name, text] of Object.entries(written.files)) await t.writeFile(remotePath(workDir, name), text);
      await t.writeFile(remotePath(workDir, SLURM_FILES.script), script, { mode: 0o755 });
    }
    return {
      job: {
        jobName,
        step: req.step,
        workDir,
        command,
        stdoutFile,
        stderrFile,
        resources: req.resources,
        executor: 'slurm',
        cluster,
        batchScript: remotePath(workDir, SLURM_FILES.script),
      },
      ...summaryOf(written),
    };
  }

  async function parseLocal(req: ParseRequest): Promise<ParsedCalculation> {
    const code = codeOf(req);
    const read = async (name: string) => (existsSync(join(req.workDir, name)) ? readFile(join(req.workDir, name), 'utf8') : undefined);
    const result = await parse(code, req, read);
    const artifacts: ArtifactRef[] = [];
    const prefix = jobDirParts(req.workflowId, req.step, req.attempt).join('/');
    for (const name of code.files.kept) {
      const path = join(req.workDir, name);
      if (existsSync(path)) artifacts.push(await deps.store.putFile(`${prefix}/${name.split('/').pop()}`, path));
    }
    return { result, artifacts };
  }

  /** Downloads the kept files once (to a private temporary directory), parses them there, stores them. */
  async function parseOnCluster(req: ParseRequest, cluster: string): Promise<ParsedCalculation> {
    const code = codeOf(req);
    const profile = activityProfile(cluster, deps.profiles);
    const t = transportFor(profile);
    return withLocalTemp(async (tmp) => {
      const local = new Map<string, string>();
      for (const name of code.files.kept) {
        const to = join(tmp, name.replace(/\//g, '__'));
        try {
          await t.download(remotePath(req.workDir, name), to);
          local.set(name, to);
        } catch (e) {
          if (!(e instanceof TransportFileError && e.code === 'ENOENT')) throw e;
        }
      }
      const result = await parse(code, req, async (name) => (local.has(name) ? readFile(local.get(name)!, 'utf8') : undefined));
      const artifacts: ArtifactRef[] = [];
      const prefix = jobDirParts(req.workflowId, req.step, req.attempt).join('/');
      for (const [name, path] of local) artifacts.push(await deps.store.putFile(`${prefix}/${name.split('/').pop()}`, path));
      return { result, artifacts };
    });
  }

  async function parse(code: Code, req: ParseRequest, read: (name: string) => Promise<string | undefined>): Promise<CodeResult> {
    const files: Record<string, string | undefined> = {};
    for (const name of code.files.kept) files[name] = await read(name);
    return code.parse({
      files,
      ...(req.outcome.exitStatus !== undefined ? { processExitStatus: req.outcome.exitStatus } : {}),
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
