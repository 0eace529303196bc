/**
 * Failures pw.x cannot be made to hit on demand, through the whole chain: parser → handler → workflow → real
 * pw.x. A clearly named stand-in executable replays a real failing output from ../shared/fixtures once (stdout
 * and CRASH file, non-zero exit), then runs the real pw.x with the repaired input.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { calculationResult, startCalculation } from '../../src/client.ts';
import { parsePwInputNamelists } from '../../src/domain/codes/qe/inputs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { describeShared, fixture } from '../support/shared.ts';
import { startTestWorker, testSettings } from '../support/temporal.ts';

describeShared('replayed fixture failures repaired by the handlers (stand-in, then real pw.x)', () => {
  let env: TestWorkflowEnvironment;
  let stop: (() => Promise<void>) | undefined;
  const settings = testSettings('replayed');
  const standIn = join(settings.dataDir, 'pw-replay-standin.sh');

  beforeAll(async () => {
    // Not pw.x: in each workflow's work tree it replays the recorded failure named in `replay-case` once
    // (stdout, CRASH file, exit status 1), then hands over to the real pw.x.
    writeFileSync(
      standIn,
      [
        '#!/bin/sh',
        'tree="$(cd ../.. && pwd)"',
        'if [ -e "$tree/replay-case" ] && [ ! -e "$tree/replayed-once" ]; then',
        '  touch "$tree/replayed-once"',
        '  case_dir="$(cat "$tree/replay-case")"',
        '  cp "$case_dir/CRASH" ./CRASH',
        '  cat "$case_dir/aiida.out"',
        '  exit 1',
        'fi',
        'exec pw.x "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(standIn, 0o755);
    mkdirSync(join(settings.dataDir, 'clusters'), { recursive: true });
    writeFileSync(
      join(settings.dataDir, 'clusters', 'local.yaml'),
      `name: local\nscheduler: local\ntransport: local\nworkDir: ${settings.workRoot}\npartitions: []\nexecutables:\n  qe-pw: ${standIn}\n`,
    );
    ({ env, stop } = await startTestWorker(settings));
  });
  afterAll(async () => stop?.());

  it.each([
    ['failed_computing_cholesky', 462],
    ['failed_too_many_bands_not_converged', 463],
    ['failed_s_matrix_not_positive_definite', 464],
    ['failed_zhegvd_failed', 465],
    ['failed_broyden_factorization', 468],
  ])('%s (%i, real CRASH file): diagonalization david → ppcg, then real pw.x succeeds', async (caseName, code) => {
    const workflowId = `replayed-${caseName}-${Date.now()}`;
    mkdirSync(join(settings.workRoot, workflowId), { recursive: true });
    writeFileSync(join(settings.workRoot, workflowId, 'replay-case'), fixture('qe', 'pw', caseName));
    const handle = await startCalculation(env.client, { code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'scf', protocol: 'fast' }, { taskQueue: settings.taskQueue, workflowId });
    const result = await calculationResult(handle);
    expect(result.ok).toBe(true);
    const [first, second] = result.attempts;
    expect(first!.exitCode).toBe(code);
    expect(first!.decision.handler).toBe('handle_diagonalization_errors');
    expect(first!.decision.changes).toMatchObject({ 'electrons.diagonalization': { from: 'david', to: 'ppcg' } });
    expect(parsePwInputNamelists(readFileSync(join(second!.workDir, 'pw.in'), 'utf8')).electrons!.diagonalization).toBe('ppcg');
    expect(second!.exitCode).toBe(0);
    expect(readFileSync(join(second!.workDir, 'pw.out'), 'utf8')).toMatch(/convergence has been achieved/);
  });
});
