/**
 * The production topology for real, without Docker: the full Temporal server 1.32.1 on a private PostgreSQL
 * (test/support/full-server.ts), `crystalmath server init`, and two `crystalmath worker` processes, both
 * configured only through Temporal's environment variables. A real Si SCF (pw.x) survives a SIGKILLed
 * Temporal server, a PostgreSQL restart, and the SIGKILL of the worker running it, with pw.x run once.
 * The TLS part runs the same with mTLS, and a wrong CA is refused with a message naming the setting.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { calculationResult, connectClient, startCalculation } from '../../src/client.ts';
import type { CalculationInput } from '../../src/domain/calculation.ts';
import { jobDirParts } from '../../src/domain/jobs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { alive, sleep } from '../../src/process.ts';
import { loadSettings, type Settings } from '../../src/settings.ts';
import type { calculation } from '../../src/workflows/calculation.ts';
import { runCli, waitUntil } from '../support/cli.ts';
import { describeFullServer, fullStackEnv, startFullStack, type FullStack } from '../support/full-server.ts';
import { testSettings } from '../support/temporal.ts';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';
import { pwOutputs } from '../support/pw-results.ts';

const NAMESPACE = 'crystalmath';
/** An SCF that runs for several seconds on 2 cores: long enough to break things while it runs. */
const siScf = (mesh = 10): CalculationInput => ({
  code: 'qe-pw',
  structure: builtinStructure('Si')!,
  calculation: 'scf',
  protocol: 'fast',
  kpoints: { mesh: [mesh, mesh, mesh] },
  parameters: { system: { ecutwfc: 40, ecutrho: 160 } },
});

const cli = (env: Record<string, string>, ...args: string[]) => runCli(env, args);

/** Settings for this file on `stack`, read the way a user's worker and client read them: from the environment. */
function stackSettings(name: string, stack: FullStack, env: Record<string, string>): Settings {
  const local = testSettings(name, stack.address);
  const fromEnv = loadSettings({ ...env, CRYSTALMATH_HOME: local.dataDir, HOME: local.dataDir });
  return { ...local, temporal: fromEnv.temporal, namespace: NAMESPACE };
}

/** pw.x ran exactly once for this workflow: one attempt directory, one PWSCF banner. */
function expectOnePwRun(settings: Settings, workflowId: string): void {
  const stepDir = join(settings.workRoot, ...jobDirParts(workflowId, 'pw', 1).slice(0, 2));
  expect(readdirSync(stepDir)).toEqual(['1']);
  expect(readFileSync(join(stepDir, '1', 'pw.out'), 'utf8').match(/Program PWSCF/g)).toHaveLength(1);
}

const pwRunning = (settings: Settings, workflowId: string) => existsSync(join(settings.workRoot, ...jobDirParts(workflowId, 'pw', 1), '.crystalmath', 'pid'));

describeFullServer('production topology: full Temporal server on PostgreSQL, two worker processes', () => {
  let stack: FullStack;
  let env: Record<string, string>;
  let settings: Settings;
  let client: Client;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    stack = await startFullStack({ name: 'topology' });
    env = fullStackEnv(stack, { namespace: NAMESPACE });
    settings = stackSettings('topology', stack, env);
  });
  afterAll(async () => {
    for (const w of workers) w.kill();
    await client?.connection.close();
    await stack?.stop();
  });

  it('server init creates the namespace and search attributes; a second init changes nothing', () => {
    const check = cli(env, 'server', 'check');
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`namespace ${NAMESPACE}: missing`);
    const first = JSON.parse(cli(env, 'server', 'init', '--json').stdout);
    expect(first).toMatchObject({ namespace: NAMESPACE, namespaceState: 'created', retentionDays: 30, ready: true });
    const second = JSON.parse(cli(env, 'server', 'init', '--json').stdout);
    expect(second.namespaceState).toBe('present');
    expect(second.searchAttributes.every((a: { state: string }) => a.state === 'present')).toBe(true);
  });

  it('a Si SCF through two worker processes survives a SIGKILLed Temporal server', async () => {
    // One general worker (every cluster it finds: here only `local`) and one serving the `local` cluster's queue.
    workers.push(startWorkerProcess(settings, 'general', { env }));
    workers.push(startWorkerProcess(settings, 'local', { env: { ...env, CRYSTALMATH_WORKER_CLUSTERS: 'local' } }));
    client = await connectClient(settings);
    const handle = await startCalculation(client, siScf(), { taskQueue: settings.taskQueue });
    await waitUntil('pw.x runs', () => pwRunning(settings, handle.workflowId));

    await stack.killServer();
    await sleep(2000);
    await stack.startServer();

    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    expect(pwOutputs(result).totalEnergyRy).toBeLessThan(-15.8);
    expectOnePwRun(settings, handle.workflowId);
    // The search attributes `server init` registered are usable on this server.
    await waitUntil('the run is searchable by formula', async () => {
      const found: string[] = [];
      for await (const w of client.workflow.list({ query: `CrystalMathFormula = 'Si2' AND CrystalMathCode = 'qe-pw'` })) found.push(w.workflowId);
      return found.includes(handle.workflowId);
    });
  });

  it('survives a PostgreSQL restart mid-run', async () => {
    const handle = await startCalculation(client, siScf(), { taskQueue: settings.taskQueue });
    await waitUntil('pw.x runs', () => pwRunning(settings, handle.workflowId));
    await stack.restartPostgres();
    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    expectOnePwRun(settings, handle.workflowId);
  });

  it('the worker running the calculation is SIGKILLed: the other worker finishes it, pw.x ran once', async () => {
    const handle: WorkflowHandle<typeof calculation> = await startCalculation(client, siScf(12), { taskQueue: settings.taskQueue });
    let watcher: string | undefined;
    await waitUntil('a worker watches the running pw.x', async () => {
      const d = await handle.describe();
      const wait = (d.raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'waitForJob' && a.state === 2 /* STARTED */);
      watcher = wait?.lastWorkerIdentity ?? undefined;
      return watcher !== undefined;
    });
    const victim = workers.find((w) => watcher!.startsWith(`${w.pid}@`));
    expect(victim, `worker identity ${watcher}`).toBeDefined();
    const survivor = workers.find((w) => w !== victim && alive(w.pid))!;
    const jobPid = Number(readFileSync(join(settings.workRoot, ...jobDirParts(handle.workflowId, 'pw', 1), '.crystalmath', 'pid'), 'utf8'));
    victim!.kill();
    await waitUntil('the worker is gone', () => !alive(victim!.pid));
    expect(alive(jobPid)).toBe(true); // pw.x outlives its worker

    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    expectOnePwRun(settings, handle.workflowId);
    // The survivor's log (text format) names the workflow it took over.
    expect(survivor.log()).toContain(handle.workflowId);
  });
});

describeFullServer('production topology with mTLS', () => {
  let stack: FullStack;
  let env: Record<string, string>;
  let settings: Settings;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    stack = await startFullStack({ name: 'topology-tls', tls: true });
    env = fullStackEnv(stack, { namespace: NAMESPACE });
    settings = stackSettings('topology-tls', stack, env);
  });
  afterAll(async () => {
    worker?.kill();
    await stack?.stop();
  });

  it('a worker and a client configured with the CA run a Si SCF', async () => {
    expect(cli(env, 'server', 'init').code).toBe(0);
    worker = startWorkerProcess(settings, 'tls', { env });
    const client = await connectClient(settings);
    try {
      const result = await calculationResult(await startCalculation(client, siScf(2), { taskQueue: settings.taskQueue }));
      expect(result.ok).toBe(true);
    } finally {
      await client.connection.close();
    }
  });

  it('a wrong CA is refused with a message naming the setting (CLI and worker)', async () => {
    const wrong = fullStackEnv(stack, { namespace: NAMESPACE, caFile: stack.tls!.wrongCaFile });
    const r = cli(wrong, 'server', 'check');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot connect to Temporal at 127\.0\.0\.1:\d+: the server's certificate is not signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
    const w = startWorkerProcess(stackSettings('topology-wrong-ca', stack, wrong), 'wrong-ca', { env: wrong });
    await waitUntil('the worker exits', () => w.child.exitCode !== null);
    expect(w.child.exitCode).not.toBe(0);
    expect(w.log()).toMatch(/not signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
    // Plain text against the TLS server: told to turn TLS on.
    const plain = cli({ TEMPORAL_ADDRESS: stack.address, TEMPORAL_NAMESPACE: NAMESPACE }, 'server', 'check');
    expect(plain.code).toBe(3);
    expect(plain.stderr).toMatch(/the server speaks TLS but this client does not: set TEMPORAL_TLS=true/);
  });
});
