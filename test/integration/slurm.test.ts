/**
 * The calculation workflow on SLURM, on the real stack: the suite's Temporal dev server, a worker with the
 * real activities, ssh2 → the loopback sshd → sbatch on the single-node SLURM of scripts/local-cluster.sh,
 * Debian's pw.x on bulk Si. Plus the pure SLURM pieces (batch script, states, command output).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAllTransports, sshConnectionsOpened } from '../../src/activities/transport/index.ts';
import { schedulerMetrics } from '../../src/activities/scheduler/index.ts';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { ClusterProfileSchema } from '../../src/domain/cluster-profile.ts';
import type { CalculationResult } from '../../src/domain/calculation.ts';
import { CalculationInputSchema } from '../../src/domain/calculation.ts';
import { clusterTaskQueue, jobDirParts, jobNameFor } from '../../src/domain/jobs.ts';
import {
  checkJobRetry,
  outcomeOfSlurmState,
  parseScontrolLine,
  parseSlurmDuration,
  parseSqueue,
  parseSubmitAnswer,
  renderBatchScript,
  slurmTime,
} from '../../src/domain/slurm.ts';
import type { WorkflowPlanInput } from '../../src/domain/plan/plan.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import type { PlanResult } from '../../src/workflows/plan.ts';
import { createWorker, workerClusters } from '../../src/worker.ts';
import { waitUntil } from '../support/cli.ts';
import { recordHistory } from '../support/histories.ts';
import { describeCluster, jobsNamed, scontrolJob, startLocalCluster, writeProfileVariant, writeStandIn, type LocalCluster } from '../support/cluster.ts';
import { connectTestEnv, testSettings, workflowBundle } from '../support/temporal.ts';
import { pwOutputs } from '../support/pw-results.ts';

const Si = builtinStructure('Si')!;

describe('SLURM, the pure parts', () => {
  const profile = ClusterProfileSchema.parse({
    name: 'hpc',
    scheduler: 'slurm',
    workDir: '/scratch/cm',
    partitions: [
      { name: 'cpu', nodes: 4, coresPerNode: 16, default: true },
      { name: 'gpu', nodes: 2, coresPerNode: 16, gpusPerNode: 4, gpuType: 'a100' },
    ],
    mpi: 'srun --cpus-per-task={cpusPerTask}',
    modules: ['gcc/12'],
    prepend: 'source /opt/setup.sh',
    environment: { OMPI_MCA_btl: '^openib', WEIRD: "it's $(here)" },
    account: 'proj-1',
    qos: 'normal',
    executables: { 'qe-pw': { executable: '/opt/qe 7/bin/pw.x', modules: ['qe/7.2'], environment: { ESPRESSO_TMPDIR: '/tmp' } } },
  });
  const exe = profile.executables['qe-pw']!;

  it('renders every directive, quotes every word, and writes the markers first and last', () => {
    const script = renderBatchScript({
      jobName: 'cm-wf-pw-1',
      workDir: "/scratch/cm/it's here",
      command: ['/opt/qe 7/bin/pw.x', '-in', 'pw.in'],
      stdoutFile: 'pw.out',
      stderrFile: 'pw.err',
      resources: { walltimeSeconds: 3601, mpiRanks: 16, cpusPerTask: 2, memoryGb: 3.5 },
      profile,
      executable: exe,
    });
    const lines = script.split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    const directives = lines.filter((l) => l.startsWith('#SBATCH'));
    expect(directives).toEqual([
      '#SBATCH --job-name=cm-wf-pw-1',
      `#SBATCH --chdir='/scratch/cm/it'\\''s here'`,
      `#SBATCH --output='/scratch/cm/it'\\''s here/.crystalmath/slurm-%j.out'`,
      `#SBATCH --error='/scratch/cm/it'\\''s here/.crystalmath/slurm-%j.err'`,
      '#SBATCH --partition=cpu',
      '#SBATCH --nodes=2',
      '#SBATCH --ntasks=16',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --time=0-01:01:00',
      '#SBATCH --mem=3584M',
      '#SBATCH --account=proj-1',
      '#SBATCH --qos=normal',
    ]);
    // The first command after the directives records the job's own id.
    const firstCommand = lines.find((l) => !l.startsWith('#'));
    expect(firstCommand).toBe('echo "$SLURM_JOB_ID" > .crystalmath/slurm_job_id');
    expect(script).toContain('module load gcc/12\nmodule load qe/7.2\n');
    expect(script).toContain('source /opt/setup.sh\n');
    expect(script).toContain("export WEIRD='it'\\''s $(here)'\n");
    expect(script).toContain('export ESPRESSO_TMPDIR=/tmp\n');
    expect(script).toContain('export OMP_NUM_THREADS=2\n');
    expect(script).toContain("srun --cpus-per-task=2 '/opt/qe 7/bin/pw.x' -in pw.in < /dev/null > pw.out 2> pw.err\nstatus=$?\n");
    expect(script.trimEnd().split('\n').slice(-2)).toEqual([
      'echo "$status" > .crystalmath/exit_status.part && mv -f .crystalmath/exit_status.part .crystalmath/exit_status',
      'exit "$status"',
    ]);
  });

  it('lays jobs out on the partition and refuses what it cannot hold', () => {
    const base = { jobName: 'j', workDir: '/w', command: ['pw.x'], stdoutFile: 'o', stderrFile: 'e', profile, executable: exe };
    const s = renderBatchScript({ ...base, resources: { walltimeSeconds: 60, mpiRanks: 24, cpusPerTask: 2, memoryGb: 3.5 } });
    expect(s).toMatch(/--nodes=3\n.*--ntasks=24\n.*--cpus-per-task=2\n.*--time=0-00:01:00\n.*--mem=3584M\n.*--account=proj-1\n.*--qos=normal/s);
    const gpu = renderBatchScript({ ...base, resources: { walltimeSeconds: 90, mpiRanks: 4, partition: 'gpu', gpusPerNode: 4 } });
    expect(gpu).toContain('#SBATCH --partition=gpu\n');
    expect(gpu).toContain('#SBATCH --gres=gpu:a100:4\n');
    expect(gpu).toContain('#SBATCH --time=0-00:02:00\n');
    expect(() => renderBatchScript({ ...base, resources: { walltimeSeconds: 60, mpiRanks: 1, partition: 'nope' } })).toThrow(/no partition "nope"/);
    expect(() => renderBatchScript({ ...base, resources: { walltimeSeconds: 60, mpiRanks: 1000 } })).toThrow(/need 63 nodes; partition cpu of hpc has 4/);
    expect(() => renderBatchScript({ ...base, resources: { walltimeSeconds: 60, mpiRanks: 1, gpusPerNode: 1 } })).toThrow(/1 GPU\(s\) per node requested; partition cpu/);
    // A serial tool runs as one task, without the launcher.
    const serial = renderBatchScript({ ...base, executable: { ...exe, mpi: false }, resources: { walltimeSeconds: 60, mpiRanks: 8 } });
    expect(serial).toContain('#SBATCH --ntasks=1\n');
    expect(serial).toContain('\npw.x < /dev/null > o 2> e\n');
    expect(slurmTime(1)).toBe('0-00:01:00');
    expect(slurmTime(86400 * 2 + 61)).toBe('2-00:02:00');
  });

  it('maps every final SLURM state to a job outcome', () => {
    const cases: [string, string, Partial<ReturnType<typeof outcomeOfSlurmState>>][] = [
      ['COMPLETED', 'None', { state: 'completed', exitStatus: 0 }],
      ['FAILED', 'NonZeroExitCode', { state: 'failed', exitStatus: 2, message: 'SLURM FAILED (NonZeroExitCode)' }],
      ['TIMEOUT', 'TimeLimit', { state: 'timeout' }],
      ['DEADLINE', 'None', { state: 'timeout' }],
      ['CANCELLED', 'None', { state: 'cancelled' }],
      ['OUT_OF_MEMORY', 'OutOfMemory', { state: 'failed' }],
      ['NODE_FAIL', 'NodeDown', { state: 'lost' }],
      ['BOOT_FAIL', 'None', { state: 'lost' }],
      ['PREEMPTED', 'None', { state: 'lost' }],
    ];
    for (const [state, reason, expected] of cases) {
      const o = outcomeOfSlurmState({ state, reason, exitCode: { status: state === 'FAILED' ? 2 : 0, signal: 0 }, runSeconds: 5 });
      expect(o, state).toMatchObject({ ...expected, schedulerState: state, wallSeconds: 5 });
    }
    expect(outcomeOfSlurmState({ state: 'OUT_OF_MEMORY' }).message).toMatch(/out of memory/);
    expect(outcomeOfSlurmState({ state: 'PREEMPTED' }).message).toMatch(/^preempted/);
    // The code's own status (the marker) wins over the script's.
    expect(outcomeOfSlurmState({ state: 'COMPLETED', markerExitStatus: 3 })).toMatchObject({ state: 'failed', exitStatus: 3 });
    expect(outcomeOfSlurmState({ state: 'CANCELLED by 0' }).state).toBe('cancelled');
  });

  it('reads squeue, scontrol and the submit script', () => {
    expect([...parseSqueue('12 RUNNING None\n13 PENDING launch failed requeued held\n\n')]).toEqual([
      ['12', { state: 'RUNNING', reason: 'None' }],
      ['13', { state: 'PENDING', reason: 'launch failed requeued held' }],
    ]);
    const f = parseScontrolLine("JobId=12 JobName=cm-x JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 RunTime=1-00:00:05 WorkDir=/tmp/sb test/x'y StdErr=/e");
    expect(f).toMatchObject({ JobId: '12', JobState: 'FAILED', ExitCode: '3:0', WorkDir: "/tmp/sb test/x'y", StdErr: '/e' });
    expect(parseSlurmDuration(f.RunTime)).toBe(86405);
    expect(parseSubmitAnswer('submitted 42\n')).toEqual({ kind: 'submitted', jobId: '42' });
    expect(parseSubmitAnswer('found 42 squeue\n')).toEqual({ kind: 'found', jobId: '42', where: 'squeue' });
    expect(parseSubmitAnswer('sbatch: error')).toBeUndefined();
  });

  it('polls at the profile interval, backing off for long jobs', () => {
    expect(checkJobRetry(2, 60)).toEqual({ initialIntervalSeconds: 2, backoffCoefficient: 1.05, maximumIntervalSeconds: 3 });
    expect(checkJobRetry(30, 86400)).toMatchObject({ initialIntervalSeconds: 30, maximumIntervalSeconds: 300 });
    expect(checkJobRetry(30, 60).maximumIntervalSeconds).toBe(30);
  });

  it('routes a cluster to its own task queue, local to the workflow queue', () => {
    expect(clusterTaskQueue('crystalmath', 'local')).toBe('crystalmath');
    expect(clusterTaskQueue('crystalmath', 'beefcake2')).toBe('crystalmath-beefcake2');
    expect(CalculationInputSchema.parse({ code: 'qe-pw', structure: Si, calculation: 'scf', executor: { kind: 'slurm', cluster: 'beefcake2' } }).executor).toEqual({
      kind: 'slurm',
      cluster: 'beefcake2',
    });
    expect(CalculationInputSchema.safeParse({ code: 'qe-pw', structure: Si, calculation: 'scf', executor: { kind: 'slurm', cluster: '../x' } }).success).toBe(false);
    expect(workerClusters([], 'local, beefcake2')).toEqual(['local', 'beefcake2']);
  });
});

describeCluster('the calculation workflow on SLURM (ssh2 → sshd → sbatch → pw.x)', () => {
  let cluster: LocalCluster;
  let env: TestWorkflowEnvironment;
  let stop: () => Promise<void>;
  const settings = testSettings('slurm');
  const profilesDir = mkdtempSync(join(tmpdir(), 'crystalmath-slurm-profiles-'));
  const wrapperMarker = join(settings.dataDir, 'stand-in-was-used');
  let scf: CalculationResult;

  beforeAll(async () => {
    [cluster, env] = await Promise.all([startLocalCluster(), connectTestEnv()]);
    // Executables come from the profile, for the local executor too: a local.yaml pointing qe-pw to a wrapper.
    const wrapper = writeStandIn('pw.x-wrapper-that-leaves-a-mark', `touch ${JSON.stringify(wrapperMarker)}\nexec pw.x "$@"`);
    writeProfileVariant(cluster, profilesDir, 'local', (p) => {
      for (const k of ['host', 'port', 'user', 'auth', 'knownHostsFile', 'hostKeys', 'mpi']) delete p[k];
      p.scheduler = 'local';
      p.workDir = settings.workRoot;
      p.partitions = [];
      p.executables = { 'qe-pw': wrapper };
    });
    const { worker } = await createWorker({
      settings,
      connection: env.nativeConnection,
      workflowBundle: await workflowBundle(),
      clusters: ['local', 'local-slurm'],
      clusterDirs: [profilesDir, join(cluster.stateDir, 'clusters')],
    });
    // Its own queue, its host's (local jobs, issue 22.1) and the cluster's.
    expect(worker.taskQueues).toEqual([settings.taskQueue, expect.stringMatching(new RegExp(`^${settings.taskQueue}@.+`)), `${settings.taskQueue}-local-slurm`]);
    const running = worker.run();
    stop = async () => {
      worker.shutdown();
      await running;
    };
  });

  afterAll(async () => {
    await stop?.();
    await closeAllTransports();
    await env?.teardown();
    rmSync(profilesDir, { recursive: true, force: true });
  });

  it('runs a Si scf through sbatch and returns what pw.x printed', async () => {
    const connectionsBefore = sshConnectionsOpened();
    const handle = await startCalculation(
      env.client,
      { code: 'qe-pw', structure: Si, calculation: 'scf', protocol: 'fast', executor: { kind: 'slurm', cluster: 'local-slurm' } },
      { taskQueue: settings.taskQueue },
    );
    scf = await calculationResult(handle);

    expect(scf.ok).toBe(true);
    expect(scf.remoteFolder.host).toBe('local-slurm');
    expect(scf.remoteFolder.path).toBe(join(cluster.profile.workDir, ...jobDirParts(handle.workflowId, 'pw', 1)));
    // Independent of the parser: the last "!    total energy" line of the output file on the cluster.
    const pwOut = readFileSync(join(scf.remoteFolder.path, 'pw.out'), 'utf8');
    const printed = [...pwOut.matchAll(/^!\s+total energy\s+=\s+(-?\d+\.\d+) Ry/gm)].map((m) => Number(m[1]));
    expect(printed.length).toBeGreaterThan(0);
    expect(pwOutputs(scf).totalEnergyRy).toBe(printed.at(-1));
    expect(pwOutputs(scf).totalEnergyRy).toBeGreaterThan(-16);
    expect(pwOutputs(scf).totalEnergyRy).toBeLessThan(-15.7);
    // The outputs were copied into the worker's artifact store.
    const stored = scf.artifacts.find((a) => a.key.endsWith('/pw.out'))!;
    expect(fileURLToPath(stored.uri).startsWith(settings.artifactRoot)).toBe(true);
    expect(readFileSync(fileURLToPath(stored.uri), 'utf8')).toBe(pwOut);
    // The pseudopotentials were uploaded once, to the cluster's pseudo directory, and pw.in points there.
    const pseudoDir = join(cluster.profile.workDir, 'pseudos', 'qe-debian-lda');
    expect(readFileSync(join(scf.remoteFolder.path, 'pw.in'), 'utf8')).toMatch(new RegExp(`pseudo_dir\\s*=\\s*'${pseudoDir}'`));
    expect(existsSync(join(pseudoDir, 'Si.pz-vbc.UPF'))).toBe(true);
    // Exactly one SLURM job, named after workflow, step and attempt, that wrote its own id.
    const name = jobNameFor(handle.workflowId, 'pw', 1);
    const jobs = jobsNamed(name);
    expect(jobs.ids).toHaveLength(1);
    expect(readFileSync(join(scf.remoteFolder.path, '.crystalmath', 'slurm_job_id'), 'utf8').trim()).toBe(jobs.ids[0]);
    expect(scontrolJob(jobs.ids[0]!)).toMatchObject({ JobState: 'COMPLETED', JobName: name });
    expect(scf.attempts).toHaveLength(1);
    expect(scf.attempts[0]!.job).toMatchObject({ state: 'completed', exitStatus: 0, schedulerState: 'COMPLETED' });
    // One SSH connection for everything, and polls went through the status cache.
    expect(sshConnectionsOpened() - connectionsBefore).toBeLessThanOrEqual(1);
    expect(schedulerMetrics()['local-slurm']!.squeueCalls).toBeGreaterThan(0);

    // Routing: everything that touches the cluster ran on its queue; the history stays small.
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
    expect(scheduled.map((a) => a.activityType?.name)).toEqual(['prepareCalculation', 'startJob', 'checkJob', 'parseCalculation']);
    expect(new Set(scheduled.map((a) => a.taskQueue?.name))).toEqual(new Set([`${settings.taskQueue}-local-slurm`]));
    expect(history.events!.length).toBeLessThan(40);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, handle.workflowId);
    recordHistory('calculation-slurm-si-scf.json', history, handle.workflowId);
  });

  it('restarts on the cluster from the parent charge density (copied there, not through the worker)', async () => {
    const handle = await startCalculation(
      env.client,
      {
        code: 'qe-pw',
        structure: Si,
        calculation: 'nscf',
        protocol: 'fast',
        analysis: 'nscf',
        executor: { kind: 'slurm', cluster: 'local-slurm' },
        parent: { workDir: scf.remoteFolder.path, kind: 'charge-density' },
      },
      { taskQueue: settings.taskQueue },
    );
    const nscf = await calculationResult(handle);
    expect(nscf.ok).toBe(true);
    expect(existsSync(join(nscf.remoteFolder.path, 'out', 'pwscf.save', 'charge-density.dat'))).toBe(true);
    expect(nscf.outputs.fermiEnergyEv ?? nscf.outputs.highestOccupiedEv).toBeDefined();
  });

  it("refuses a parent directory outside the cluster's workDir, naming the field", async () => {
    const executor = { kind: 'slurm' as const, cluster: 'local-slurm' };
    const input = { code: 'qe-pw' as const, structure: Si, calculation: 'nscf' as const, protocol: 'fast' as const, executor, parent: { workDir: '/etc', kind: 'charge-density' as const } };
    const handle = await startCalculation(env.client, input, { taskQueue: settings.taskQueue });
    const err = await handle.result().catch((e: unknown) => e);
    const cause = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
    expect(cause).toMatchObject({ type: 'InvalidCalculationInput', nonRetryable: true });
    expect(cause.message).toBe(`parent.workDir "/etc" must be inside ${cluster.profile.workDir}/ (the workDir of cluster local-slurm)`);
  });

  it('a plan scf → bands + DOS on the cluster: pw.x, dos.x and projwfc.x through sbatch, analysed there', async () => {
    const plan: WorkflowPlanInput = {
      structure: Si,
      protocol: 'fast',
      cluster: 'local-slurm',
      steps: [
        { name: 'scf', type: 'scf', code: 'quantum_espresso' },
        { name: 'bands', type: 'bands', code: 'quantum_espresso', dependsOn: ['scf'], parameters: { kpointsPerSegment: 5 } },
        { name: 'dos', type: 'dos', code: 'quantum_espresso', dependsOn: ['scf'], parameters: { mesh: [4, 4, 4] } },
      ],
    };
    const handle = await env.client.workflow.start('plan', { taskQueue: settings.taskQueue, workflowId: `plan-bands-slurm-${Date.now()}`, args: [plan] });
    const result = (await handle.result()) as PlanResult;
    expect(result.ok).toBe(true);
    const bands = result.results.bands!;
    expect(bands.remoteFolder.host).toBe('local-slurm');
    expect(jobsNamed(jobNameFor(`${handle.workflowId}-bands`, 'pw', 1)).ids).toHaveLength(1);
    // Analysed by the cluster queue's worker from the XML on the cluster: an indirect gap of about 0.5 eV.
    const gap = result.analyses!.bands!.bands!.gap;
    expect(gap).toMatchObject({ kind: 'insulator', direct: false });
    expect(gap.gapEv).toBeGreaterThan(0.3);
    expect(gap.gapEv).toBeLessThan(0.8);
    // dos.x and projwfc.x ran as SLURM jobs, each once, and the DOS was read on the cluster.
    for (const step of ['dos', 'dos-projwfc']) expect(jobsNamed(jobNameFor(handle.workflowId, step, 1)).ids, step).toHaveLength(1);
    const dos = result.analyses!.dos!.dos!;
    expect(dos.points).toBeGreaterThan(100);
    expect(dos.lowdinCharges?.map((c) => c.element)).toEqual(['Si', 'Si']);
    const history = await handle.fetchHistory();
    for (const activity of ['analyzeBands', 'preparePostprocessJob', 'analyzeDos']) {
      const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity);
      expect(scheduled!.activityTaskScheduledEventAttributes!.taskQueue!.name, activity).toBe(`${settings.taskQueue}-local-slurm`);
    }
    recordHistory('plan-slurm-scf-bands-dos.json', history, handle.workflowId);
  });

  it('cancels: the workflow cancellation runs scancel', async () => {
    const sleeper = writeStandIn('pw.x-stand-in-that-sleeps-300s', 'echo "stand-in: sleeping"; exec sleep 300');
    writeProfileVariant(cluster, profilesDir, 'local-slurm-sleepy', (p) => {
      p.executables = { 'qe-pw': { executable: sleeper, mpi: false } };
    });
    {
      // Another profile of the same cluster, served by the same worker: `taskQueue` routes it there.
      const executor = { kind: 'slurm' as const, cluster: 'local-slurm-sleepy', taskQueue: `${settings.taskQueue}-local-slurm` };
      const handle = await startCalculation(env.client, { code: 'qe-pw', structure: Si, calculation: 'scf', protocol: 'fast', analysis: 'cancel', executor }, { taskQueue: settings.taskQueue });
      const name = jobNameFor(handle.workflowId, 'pw', 1);
      await waitUntil('the job to run', () => jobsNamed(name).ids.some((id) => scontrolJob(id).JobState === 'RUNNING'));
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect(String((err as Error).cause ?? err)).toMatch(/cancel/i);
      const [id] = jobsNamed(name).ids;
      await waitUntil('scancel to take effect', () => scontrolJob(id!).JobState === 'CANCELLED', 20_000);
      expect(jobsNamed(name).ids).toHaveLength(1);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      recordHistory('calculation-slurm-cancelled.json', await handle.fetchHistory(), handle.workflowId);
    }
  });

  it('takes the code executable from the profile for the local executor too (local.yaml)', async () => {
    const handle = await startCalculation(env.client, { code: 'qe-pw', structure: Si, calculation: 'scf', protocol: 'fast', analysis: 'local' }, { taskQueue: settings.taskQueue });
    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    expect(result.remoteFolder.host).toBe('local');
    expect(existsSync(wrapperMarker)).toBe(true);
    const history = await handle.fetchHistory();
    const queues = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.taskQueue?.name] : []));
    // The workflow's own queue (the host lookup) and its host's (the job and its files, issue 22.1); no cluster's.
    const hostQueue = new RegExp(`^${settings.taskQueue}@.+`);
    expect([...new Set(queues)].sort()).toEqual([settings.taskQueue, expect.stringMatching(hostQueue)]);
  });
});
