/**
 * Analysis activities of the standard analysis (bands, DOS, figure): symmetry and the k-path, reading band
 * energies and DOS files, the gap analysis, and the bands + DOS figure. Arrays go into the artifact store;
 * only summaries and references return to the workflow.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactRef } from '../domain/artifacts.ts';
import { alignEnergies, analyzeBandGap, type BandEdge, type BandGapResult, type KLocation } from '../domain/analysis/bandgap.ts';
import { bandsPathDistances, expandKPath, parsePwBands, type KPathVertex } from '../domain/codes/qe/bands.ts';
import { parseDosFile, parseDosStdout } from '../domain/codes/qe/dos.ts';
import { pwXmlPath } from '../domain/codes/qe/files.ts';
import { QE_PW_ID } from '../domain/codes/qe/pw.ts';
import { postprocessInput, qeToolExecutable } from '../domain/codes/qe/postprocess.ts';
import { parseProjwfcPdos, parseProjwfcStdout, sumPdos } from '../domain/codes/qe/projwfc.ts';
import { renderBatchScript, SLURM_FILES } from '../domain/slurm.ts';
import { toCrystalB } from '../domain/structure/kpath.ts';
import type { Structure } from '../domain/structure/structure.ts';
import { bandPathForStructure } from '../symmetry/index.ts';
import { plotBandsDos } from '../figures/bands-dos.ts';
import type { ArtifactStore } from './artifacts.ts';
import { jobDirParts, jobNameFor, LOCAL_CLUSTER, safePathPart, type JobSpec } from '../domain/jobs.ts';

/** dos.x / projwfc.x take seconds to minutes; a generous limit still fits the shortest queues. */
const POSTPROCESS_WALLTIME_SECONDS = 3600;
import { hasLocalJob, startLocalJob, watchLocalJob } from './executor/local.ts';
import { keepAlive } from './scheduler/heartbeat.ts';
import { activityProfile, type ProfileSource } from './scheduler/profiles.ts';
import { remotePath } from './scheduler/staging.ts';
import { transportFor } from './transport/index.ts';

export interface KPathRequest {
  structure: Structure;
  pointsPerSegment?: number;
  symprec?: number;
}

export interface KPathInfo {
  spaceGroupNumber: number;
  internationalSymbol: string;
  crystalSystem: string;
  variant: string;
  /** crystal_b vertices in the basis of the structure given (the one scf and bands run on). */
  lines: KPathVertex[];
  notes: string[];
}

/** A compact, JSON-safe gap summary for history and results. */
export interface GapSummary {
  kind: BandGapResult['kind'];
  gapEv?: number;
  direct?: boolean;
  vbm?: { energyEv: number; label?: string; kpoint?: number[]; where: string };
  cbm?: { energyEv: number; label?: string; kpoint?: number[]; where: string };
  directGapEv?: number;
  directGapWhere?: string;
  valenceBandWidthEv?: number;
  fermiEnergyEv?: number;
  /** Effective masses at the edges (m_e), where the fit makes sense. */
  effectiveMasses: { edge: 'vbm' | 'cbm'; direction: string; mass: number }[];
  reference: { kind: 'vbm' | 'fermi'; energyEv: number } | undefined;
  notes: string[];
}

export interface BandsAnalysis {
  gap: GapSummary;
  nKpoints: number;
  nBands: number;
  /** Band energies along the path (distances, eigenvalues, labels) as JSON. */
  bands: ArtifactRef;
}

export interface DosAnalysis {
  fermiEnergyEv?: number;
  points: number;
  /** Total DOS and, when projwfc.x ran, per-element / per-l projections, as JSON. */
  dos: ArtifactRef;
  lowdinCharges?: { atom: number; element: string; total: number }[];
}

export function analysisActivities(deps: { store: ArtifactStore; workRoot: string; profiles: ProfileSource }) {
  /** A file of a run's work directory: on this machine, or on the cluster the run was on (through its transport). */
  const readRunFile = async (workDir: string, file: string, cluster: string | undefined): Promise<string | undefined> => {
    if (!cluster || cluster === LOCAL_CLUSTER) return existsSync(join(workDir, file)) ? readFile(join(workDir, file), 'utf8') : undefined;
    const t = transportFor(activityProfile(cluster, deps.profiles));
    const path = remotePath(workDir, file);
    return (await t.exists(path)) ? t.readFile(path, 'utf8') : undefined;
  };

  const putJson = async (key: string, data: unknown): Promise<ArtifactRef> => {
    const dir = await mkdtemp(join(tmpdir(), 'crystalmath-artifact-'));
    try {
      const file = join(dir, 'data.json');
      await writeFile(file, JSON.stringify(data));
      return await deps.store.putFile(key, file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  /** The file names in a run's work directory (here, or on its cluster: `ls` through the transport). */
  const listRunFiles = async (workDir: string, cluster: string | undefined): Promise<string[]> => {
    if (!cluster || cluster === LOCAL_CLUSTER) return readdir(workDir);
    const r = await transportFor(activityProfile(cluster, deps.profiles)).exec(['ls', '-1', '-A', workDir]);
    if (r.code !== 0) throw ApplicationFailure.nonRetryable(`cannot list ${workDir} on ${cluster}: ${r.stderr.trim()}`, 'OutputMissing');
    return r.stdout.split('\n').filter(Boolean);
  };

  return {
    /** Space group, Setyawan–Curtarolo variant and the band path in the basis of the structure given. */
    async kPathFor(req: KPathRequest): Promise<KPathInfo> {
      let bp;
      try {
        bp = bandPathForStructure(req.structure, { symprec: req.symprec ?? 1e-4 });
      } catch (e) {
        throw ApplicationFailure.nonRetryable((e as Error).message, 'SymmetryAnalysisFailed');
      }
      if (!bp.input?.path) {
        throw ApplicationFailure.nonRetryable(
          `band structure needs a primitive cell: this cell holds ${bp.input?.multiplicity ?? '?'} primitive cells and its bands would be folded (build the plan from the standardized primitive cell)`,
          'NotPrimitive',
        );
      }
      return {
        spaceGroupNumber: bp.symmetry.spaceGroupNumber,
        internationalSymbol: bp.symmetry.internationalSymbol,
        crystalSystem: bp.symmetry.crystalSystem,
        variant: bp.variant,
        lines: toCrystalB(bp.input.path, req.pointsPerSegment ?? 20),
        notes: bp.notes,
      };
    },

    /**
     * Runs dos.x or projwfc.x on a finished nscf (its outdir is read in place, not copied) in a work directory
     * of its own, on the worker's machine, as a job of the local executor: its own process group, started at
     * most once (a retry adopts the running or finished tool instead of starting a second one in the same
     * directory), watched with heartbeats, stopped when the workflow cancels. (On a SLURM cluster:
     * `preparePostprocessJob`.)
     */
    async runPostprocess(req: { kind: 'dos' | 'projwfc'; parentWorkDir: string; workflowId: string; step: string; emin?: number; emax?: number; deltaE?: number }): Promise<{ workDir: string }> {
      const workDir = join(deps.workRoot, ...jobDirParts(req.workflowId, req.step, 1));
      await mkdir(workDir, { recursive: true });
      const input = postprocessInput(req.kind, req.parentWorkDir, { emin: req.emin, emax: req.emax, deltaE: req.deltaE });
      if (!hasLocalJob(workDir)) await writeFile(join(workDir, input.inputFile), input.text);
      const spec: JobSpec = {
        jobName: jobNameFor(req.workflowId, req.step, 1),
        step: req.step,
        workDir,
        command: [input.program, '-in', input.inputFile],
        stdoutFile: input.stdoutFile,
        stderrFile: input.stderrFile,
        resources: { walltimeSeconds: POSTPROCESS_WALLTIME_SECONDS, mpiRanks: 1 },
      };
      const outcome = await watchLocalJob(await keepAlive(() => startLocalJob(spec)), 500);
      if (outcome.state !== 'completed') {
        const text = await readFile(join(workDir, input.stdoutFile), 'utf8').catch(() => '');
        const stderr = (await readFile(join(workDir, input.stderrFile), 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
        const parsed = req.kind === 'dos' ? parseDosStdout(text) : parseProjwfcStdout(text);
        const why = parsed.errors.join('; ') || stderr || `see ${join(workDir, input.stdoutFile)}`;
        throw ApplicationFailure.nonRetryable(`${input.program} ${outcome.state}${outcome.exitStatus !== undefined ? ` with exit status ${outcome.exitStatus}` : ''}: ${why}`, 'PostprocessFailed');
      }
      return { workDir };
    },

    /**
     * dos.x or projwfc.x as a (serial) SLURM job on the cluster of the nscf `parentWorkDir` ran on: writes the input
     * and the batch script into `<profile workDir>/<workflowId>/<step>/1`; the workflow submits and waits as for pw.x.
     * A retry after submission leaves the files alone.
     */
    async preparePostprocessJob(req: { kind: 'dos' | 'projwfc'; parentWorkDir: string; workflowId: string; step: string; cluster: string; emin?: number; emax?: number; deltaE?: number }): Promise<JobSpec> {
      const profile = activityProfile(req.cluster, deps.profiles);
      const input = postprocessInput(req.kind, req.parentWorkDir, { emin: req.emin, emax: req.emax, deltaE: req.deltaE });
      const executable = qeToolExecutable(profile.executables, input);
      if (!executable) throw ApplicationFailure.nonRetryable(`cluster ${profile.name} has no executables.${input.codeId} and no ${QE_PW_ID} to find ${input.program} beside`, 'ExecutableMissing');
      const workDir = remotePath(profile.workDir, ...jobDirParts(req.workflowId, req.step, 1));
      const jobName = jobNameFor(req.workflowId, req.step, 1);
      const command = [executable.executable, '-in', input.inputFile];
      const resources = { walltimeSeconds: POSTPROCESS_WALLTIME_SECONDS, mpiRanks: 1 };
      const script = renderBatchScript({ jobName, workDir, command, stdoutFile: input.stdoutFile, stderrFile: input.stderrFile, resources, profile, executable });
      await keepAlive(async () => {
        const t = transportFor(profile);
        await t.mkdirp(remotePath(workDir, SLURM_FILES.meta));
        if (await t.exists(remotePath(workDir, SLURM_FILES.sbatchJobId))) return;
        await t.writeFile(remotePath(workDir, input.inputFile), input.text);
        await t.writeFile(remotePath(workDir, SLURM_FILES.script), script, { mode: 0o755 });
      });
      return { jobName, step: req.step, workDir, command, stdoutFile: input.stdoutFile, stderrFile: input.stderrFile, resources, executor: 'slurm', cluster: profile.name, batchScript: remotePath(workDir, SLURM_FILES.script) };
    },

    /**
     * Band energies of a pw.x `bands` run → gap analysis (direct or indirect, where) + stored arrays. A run on a
     * cluster (`cluster`) is read there: the activity is then scheduled on that cluster's task queue.
     */
    async analyzeBands(req: { workDir: string; lines: KPathVertex[]; artifactPrefix: string; cluster?: string }): Promise<BandsAnalysis> {
      const xml = await keepAlive(() => readRunFile(req.workDir, pwXmlPath(), req.cluster));
      if (xml === undefined) throw ApplicationFailure.nonRetryable(`no band energies: ${pwXmlPath()} is missing in ${req.workDir}${req.cluster ? ` on ${req.cluster}` : ''}`, 'BandsOutputMissing');
      const bands = parsePwBands({ xml });
      const path = expandKPath(req.lines);
      if (path.kpoints.length !== bands.eigenvaluesEv.length) {
        throw ApplicationFailure.nonRetryable(`the bands run has ${bands.eigenvaluesEv.length} k-points, the path ${path.kpoints.length}`, 'BandsOutputMismatch');
      }
      const distances = bandsPathDistances(bands, path.breaks);
      const gap = analyzeBandGap({
        eigenvaluesEv: bands.eigenvaluesEv,
        eigenvaluesDownEv: bands.eigenvaluesDownEv,
        nElectrons: bands.nElectrons,
        fermiEnergyEv: bands.fermiEnergyEv,
        noncollinear: bands.noncollinear,
        kpoints: path.kpoints,
        labels: path.labels,
        distances,
        breaks: path.breaks,
        source: 'path',
      });
      const labels = path.labels.map((l) => ({ distance: distances[l.index]!, label: l.label }));
      const ref = await putJson(`${safePathPart(req.artifactPrefix)}/bands.json`, {
        distances,
        labels,
        kpoints: path.kpoints,
        eigenvaluesEv: bands.eigenvaluesEv,
        eigenvaluesDownEv: bands.eigenvaluesDownEv,
        reference: gap.reference,
      });
      return { gap: summarizeGap(gap), nKpoints: bands.eigenvaluesEv.length, nBands: bands.nBands, bands: ref };
    },

    /** dos.x's file and, when present, projwfc.x's projections → stored arrays + a small summary. */
    async analyzeDos(req: { dosWorkDir: string; projwfcWorkDir?: string; artifactPrefix: string; cluster?: string }): Promise<DosAnalysis> {
      const files = (dir: string) => keepAlive(() => listRunFiles(dir, req.cluster));
      const read = async (dir: string, name: string) => (await keepAlive(() => readRunFile(dir, name, req.cluster))) ?? '';
      const dosFiles = (await files(req.dosWorkDir)).filter((f) => f.endsWith('.dos'));
      if (dosFiles.length === 0) throw ApplicationFailure.nonRetryable(`dos.x left no .dos file in ${req.dosWorkDir}`, 'DosOutputMissing');
      const status = parseDosStdout(await read(req.dosWorkDir, 'dos.out'));
      if (!status.ok) throw ApplicationFailure.nonRetryable(`dos.x failed: ${status.errors.join('; ')}`, 'DosFailed');
      const dos = parseDosFile(await read(req.dosWorkDir, dosFiles[0]!));
      let projections: { label: string; values: number[]; energiesEv: number[] }[] | undefined;
      let lowdinCharges: DosAnalysis['lowdinCharges'];
      if (req.projwfcWorkDir) {
        const dir = req.projwfcWorkDir;
        const names = (await files(dir)).filter((f) => f.includes('.pdos_'));
        const pdos = parseProjwfcPdos(await Promise.all(names.map(async (name) => ({ name, text: await read(dir, name) }))));
        projections = sumPdos(pdos.projections, 'element-l').map((p) => ({ label: p.label, values: p.values, energiesEv: pdos.energiesEv }));
        const out = parseProjwfcStdout(await read(dir, 'projwfc.out'));
        lowdinCharges = out.lowdin.map((a) => ({ atom: a.atomIndex, element: a.element ?? '?', total: a.total }));
      }
      const ref = await putJson(`${safePathPart(req.artifactPrefix)}/dos.json`, { energiesEv: dos.energiesEv, dos: dos.dos, integrated: dos.integrated, fermiEnergyEv: dos.fermiEnergyEv, projections });
      return { fermiEnergyEv: dos.fermiEnergyEv, points: dos.energiesEv.length, dos: ref, ...(lowdinCharges ? { lowdinCharges } : {}) };
    },

    /** The bands + DOS figure (SVG and PNG) from stored arrays, energies relative to the VBM or E_F. */
    async renderBandsDos(req: { bands: ArtifactRef; dos?: ArtifactRef; title: string; artifactPrefix: string }): Promise<{ svg: ArtifactRef; png: ArtifactRef }> {
      const bands = JSON.parse((await deps.store.read(req.bands)).toString('utf8')) as {
        distances: number[];
        labels: { distance: number; label: string }[];
        eigenvaluesEv: number[][];
        eigenvaluesDownEv?: number[][];
        reference?: { kind: 'vbm' | 'fermi'; energyEv: number };
      };
      const dos = req.dos ? (JSON.parse((await deps.store.read(req.dos)).toString('utf8')) as { energiesEv: number[]; dos: number[]; fermiEnergyEv?: number; projections?: { label: string; values: number[]; energiesEv: number[] }[] }) : undefined;
      const reference = bands.reference ?? (dos?.fermiEnergyEv !== undefined ? { kind: 'fermi' as const, energyEv: dos.fermiEnergyEv } : undefined);
      if (!reference) throw ApplicationFailure.nonRetryable('no energy reference for the figure (a metal needs its Fermi energy)', 'NoEnergyReference');
      const shift = (xs: number[]) => xs.map((e) => e - reference.energyEv);
      const dir = await mkdtemp(join(tmpdir(), 'crystalmath-figure-'));
      try {
        const svgPath = join(dir, 'bands_dos.svg');
        const pngPath = join(dir, 'bands_dos.png');
        await plotBandsDos(
          {
            bands: {
              distances: bands.distances,
              eigenvaluesEv: alignEnergies(bands.eigenvaluesEv, reference.energyEv),
              ...(bands.eigenvaluesDownEv ? { eigenvaluesDownEv: alignEnergies(bands.eigenvaluesDownEv, reference.energyEv) } : {}),
              labels: bands.labels,
            },
            ...(dos
              ? { dos: { energiesEv: shift(dos.energiesEv), dos: dos.dos, projections: dos.projections?.map((p) => ({ label: p.label, values: p.values, energiesEv: shift(p.energiesEv) })) } }
              : {}),
            title: req.title,
            energyWindow: [-13, 8],
            referenceLabel: reference.kind === 'vbm' ? 'E − E_VBM' : 'E − E_F',
          },
          { svgPath, pngPath },
        );
        const prefix = safePathPart(req.artifactPrefix);
        return { svg: await deps.store.putFile(`${prefix}/bands_dos.svg`, svgPath), png: await deps.store.putFile(`${prefix}/bands_dos.png`, pngPath) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

function summarizeGap(g: BandGapResult): GapSummary {
  const where = (e: KLocation) =>
    e.label ?? (e.segment ? `${e.segment.fraction.toFixed(2)} of the way ${e.segment.from}→${e.segment.to}` : `k-point ${e.kIndex}`);
  const edge = (e: BandEdge | undefined) => (e ? { energyEv: e.energyEv, label: e.label, kpoint: e.kpoint ? [...e.kpoint] : undefined, where: where(e) } : undefined);
  return {
    kind: g.kind,
    gapEv: g.gapEv,
    direct: g.direct,
    vbm: edge(g.vbm),
    cbm: edge(g.cbm),
    directGapEv: g.directGap?.energyEv,
    directGapWhere: g.directGap ? where(g.directGap) : undefined,
    valenceBandWidthEv: g.valenceBandWidthEv,
    fermiEnergyEv: g.fermiEnergyEv,
    effectiveMasses: [...g.effectiveMasses.filter((m) => m.extremum && m.edge === 'vbm').slice(0, 4), ...g.effectiveMasses.filter((m) => m.extremum && m.edge === 'cbm').slice(0, 4)].map((m) => ({ edge: m.edge, direction: m.direction, mass: m.massMe })),
    reference: g.reference ? { kind: g.reference.kind, energyEv: g.reference.energyEv } : undefined,
    notes: g.notes,
  };
}
