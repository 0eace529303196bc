/**
 * The per-cluster status cache gives up on a cluster that has stopped answering for longer than its
 * unreachableTimeout (issue 22.8 d): until then its failures are retryable (an outage, maintenance), after
 * that a non-retryable ClusterUnreachable naming the cluster; any answer in between starts the count again.
 * The transport is a stand-in whose squeue fails or answers on command.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { SlurmStatusCache } from '../../src/activities/scheduler/status-cache.ts';
import { ConnectionError, type ExecResult, type Transport } from '../../src/activities/transport/index.ts';
import { CLUSTER_UNREACHABLE } from '../../src/domain/jobs.ts';
import { sleep } from '../../src/process.ts';

function loginNode() {
  const state = { up: false };
  const transport = {
    kind: 'ssh',
    cluster: 'hpc',
    async exec(): Promise<ExecResult> {
      if (!state.up) throw new ConnectionError('cannot connect to hpc.example.org:22: ECONNREFUSED', 'hpc.example.org', 22);
      return { code: 0, stdout: '17 PENDING Priority\n', stderr: '' };
    },
  } as unknown as Transport;
  return { state, transport };
}
const failureOf = (p: Promise<unknown>) => p.then(() => expect.unreachable('it should have failed'), (e: unknown) => e);

describe('status cache: a cluster out of reach', () => {
  it('is retried until its unreachableTimeout, then fails for good, naming the cluster', async () => {
    const { transport } = loginNode();
    const cache = new SlurmStatusCache('hpc', transport, 20, 1000);
    const early = await failureOf(cache.status('17'));
    expect(early).toBeInstanceOf(ConnectionError);
    expect((early as ConnectionError).retryable).toBe(true);
    await sleep(1050);
    const late = (await failureOf(cache.status('17'))) as ApplicationFailure;
    expect(late).toBeInstanceOf(ApplicationFailure);
    expect(late).toMatchObject({ type: CLUSTER_UNREACHABLE, nonRetryable: true });
    expect(late.message).toMatch(/^cluster hpc has not answered since \S+ \(squeue failing for longer than its unreachableTimeout, 0-00:00:01\); .*Last error: cannot connect to hpc\.example\.org:22: ECONNREFUSED/);
  });

  it('an answer in between starts the count again: long waits in the queue are not cut short', async () => {
    const { state, transport } = loginNode();
    const cache = new SlurmStatusCache('hpc', transport, 20, 1000);
    await failureOf(cache.status('17'));
    await sleep(600);
    state.up = true;
    await sleep(30);
    expect(await cache.status('17')).toMatchObject({ state: 'PENDING', known: true });
    state.up = false;
    await sleep(600); // 1.2 s since the first failure, 0.6 s since the last answer
    const e = await failureOf(cache.status('17'));
    expect(e).toBeInstanceOf(ConnectionError);
  });
});
