/** The analysis runners' inputs: where their calculations run follows the `cluster` option. */
import { describe, expect, it } from 'vitest';
import { ElasticAnalysis, StandardAnalysis } from '../../src/client.ts';

describe('analysis runners: the cluster option becomes the executor', () => {
  it('StandardAnalysis and ElasticAnalysis run on the named SLURM profile, else on this machine', () => {
    expect(new StandardAnalysis({ cluster: 'beefcake2' }).input('Si').input.executor).toEqual({ kind: 'slurm', cluster: 'beefcake2' });
    expect(new ElasticAnalysis({ cluster: 'beefcake2' }).input('Si').executor).toEqual({ kind: 'slurm', cluster: 'beefcake2' });
    expect(new StandardAnalysis({}).input('Si').input.executor).toEqual({ kind: 'local' });
    expect(new ElasticAnalysis({}).input('Si').executor).toEqual({ kind: 'local' });
  });
});
