/**
 * The `crystalmath` CLI as a user runs it: a subprocess, on the suite's Temporal server, with real pw.x.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.ts';
import { jobDirParts } from '../../src/domain/jobs.ts';
import { alive, sleep } from '../../src/process.ts';
import { runCli } from '../support/cli.ts';
import { recordHistory } from '../support/histories.ts';
import { connectTestEnv, testSettings, workflowBundle } from '../support/temporal.ts';

const settings = testSettings('cli');
const env = { TEMPORAL_ADDRESS: settings.temporalAddress, CRYSTALMATH_HOME: settings.dataDir, CRYSTALMATH_TASK_QUEUE: settings.taskQueue };
const cli = (...args: string[]) => runCli(env, args);

describe('crystalmath CLI', () => {
  let workflowId: string;

  it('run --json computes Si and prints the result as JSON', () => {
    const r = cli('run', '--structure', 'Si', '--analysis', 'scf', '--protocol', 'fast', '--json');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    workflowId = result.workflowId;
    expect(result.ok).toBe(true);
    expect(result.formula).toBe('Si2');
    expect(result.results.scf.outputs.totalEnergyRy).toBeLessThan(-15.7);
  });

  it('status, result, list and export find that run', () => {
    const status = cli('status', workflowId, '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'completed', progressPercent: 100 });
    const result = cli('result', workflowId, '--json');
    expect(JSON.parse(result.stdout).results.scf.exitCode).toBe(0);
    const list = cli('list', '--query', `WorkflowId='${workflowId}'`, '--json');
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ workflowId, formula: 'Si2', analysis: 'scf', status: 'COMPLETED' })]);
    // The step's own calculation carries its outcome in the memo: `list` shows the energy without fetching results.
    const calc = cli('list', '--query', `WorkflowId='${workflowId}-scf'`, '--json');
    const energy0 = JSON.parse(result.stdout).results.scf.outputs.totalEnergyEv;
    expect(JSON.parse(calc.stdout)).toEqual([expect.objectContaining({ workflowId: `${workflowId}-scf`, type: 'calculation', exitCode: 0, totalEnergyEv: energy0 })]);
    expect(cli('list', '--query', `WorkflowId='${workflowId}-scf'`).stdout).toContain(`${energy0.toFixed(4)} eV`);
    const csv = cli('export', workflowId, '--format', 'csv');
    expect(csv.stdout.split('\n')[0]).toBe('formula,step,property,value,unit');
    const energy = JSON.parse(result.stdout).results.scf.outputs.totalEnergyEv;
    expect(csv.stdout).toContain(`Si2,scf,total_energy,${energy},eV`);
    expect(cli('export', workflowId, '--format', 'latex').stdout).toMatch(/\\begin\{tabular\}[\s\S]*total energy/);
  });

  it('bad flags and inputs: a clear message naming the flag, exit code 2', () => {
    const bad = cli('run', '--structure', 'Si', '--protocol', 'ultra');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--protocol: Invalid option: expected one of "fast"\|"moderate"\|"precise"/);
    const spin = cli('run', '--structure', 'Fe', '--magnetism', 'noncollinear');
    expect(spin.code).toBe(2);
    expect(spin.stderr).toMatch(/--magnetism: Invalid option: expected one of "auto"\|"none"\|"collinear"/);
    const missing = cli('run', '--structure', 'nowhere.cif');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--structure: "nowhere.cif" is neither a file nor a built-in structure/);
    const unsupported = cli('run', '--structure', 'Si', '--analysis', 'phonon');
    expect(unsupported.code).toBe(2);
    expect(unsupported.stderr).toMatch(/not supported yet/);
    const oddStrains = cli('run', '--structure', 'Si', '--analysis', 'elastic', '--num-strains', '3');
    expect(oddStrains.code).toBe(2);
    expect(oddStrains.stderr).toMatch(/--num-strains: must be even/);
    expect(cli('export', 'x', '--format', 'xml').stderr).toMatch(/--format: Invalid option/);
    expect(cli('list', '--limit', '0').code).toBe(2);
  });

  it('run on bcc Fe prints the moment of its spin-polarised scf, and the CSV export has it', () => {
    // A family with quantum-espresso-data's LDA ultrasoft Fe (the default family has no Fe), in the CLI's pseudo dir.
    const upf = '/usr/share/espresso/pseudo/Fe.pz-nd-rrkjus.UPF';
    const family = join(settings.dataDir, 'pseudos', 'test-fe');
    mkdirSync(family, { recursive: true });
    copyFileSync(upf, join(family, 'Fe.pz-nd-rrkjus.UPF'));
    writeFileSync(join(family, 'family.json'), JSON.stringify({ name: 'test-fe', functional: 'PZ', elements: { Fe: { file: 'Fe.pz-nd-rrkjus.UPF', ecutwfc: 30, ecutrho: 240 } } }));
    const r = cli('run', '--structure', 'Fe', '--analysis', 'scf', '--protocol', 'fast', '--pseudo-family', 'test-fe');
    expect(r.code, r.stderr).toBe(0);
    const moment = /magnetization:\s+(\d+\.\d+) μB\/cell total, (\d+\.\d+) μB\/cell absolute/.exec(r.stdout);
    expect(moment, r.stdout).not.toBeNull();
    expect(Number(moment![1])).toBeGreaterThan(2);
    expect(Number(moment![1])).toBeLessThan(2.5);
    const id = /workflow id:\s+(\S+)/.exec(r.stdout)![1]!;
    expect(cli('export', id, '--format', 'csv').stdout).toMatch(/^Fe,scf,total_magnetization,2\.\d+,mu_B$/m);
  });

  describe('submit and cancel', () => {
    let testEnv: TestWorkflowEnvironment;
    let worker: Worker;
    let running: Promise<void>;
    afterAll(async () => {
      worker?.shutdown();
      await running;
      await testEnv?.teardown();
    });

    it('cancel stops the running pw.x job', async () => {
      testEnv = await connectTestEnv();
      worker = await Worker.create({ connection: testEnv.nativeConnection, taskQueue: settings.taskQueue, workflowBundle: await workflowBundle(), activities: createActivities(settings) });
      running = worker.run();
      // A slow enough run (precise protocol, many k-points) to be caught while it runs.
      const submitted = cli('submit', '--structure', 'Si', '--analysis', 'scf', '--protocol', 'precise', '--json');
      expect(submitted.code).toBe(0);
      const id = JSON.parse(submitted.stdout).workflowId as string;
      const jobDir = join(settings.workRoot, ...jobDirParts(`${id}-scf`, 'pw', 1));
      for (let i = 0; i < 600 && !existsSync(join(jobDir, '.crystalmath', 'pid')); i++) await sleep(50);
      const pid = Number(readFileSync(join(jobDir, '.crystalmath', 'pid'), 'utf8'));
      expect(alive(pid)).toBe(true);

      expect(cli('cancel', id).code).toBe(0);
      let state = 'running';
      for (let i = 0; i < 100 && state === 'running'; i++) {
        await sleep(200);
        state = JSON.parse(cli('status', id, '--json').stdout).state;
      }
      // The plan ends cancelled, and only after its calculation child has killed the job.
      expect(state).toBe('cancelled');
      expect(alive(pid)).toBe(false);
      expect(readdirSync(join(jobDir, '.crystalmath'))).toContain('cancelled');
      recordHistory('plan-scf-cancelled.json', await testEnv.client.workflow.getHandle(id).fetchHistory(), id);
    });
  });
});

void spawn;
