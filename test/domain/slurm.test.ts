/** What the SLURM readers accept, on real squeue / sacct dumps, and what they refuse. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ReadError } from '../../src/domain/read-error.ts';
import { isSlurmJobId, parseSqueue, parseSubmitAnswer } from '../../src/domain/slurm.ts';
import { describeShared, fixture } from '../support/shared.ts';
import { thrown } from '../support/thrown.ts';


describeShared('SLURM job ids of real dumps (../shared/fixtures/slurm)', () => {
  it("every job id squeue printed (hb-jobinfo '%i|...', prometheus-slurm-exporter '%A,%T') is one, array elements included", () => {
    const hb = readFileSync(fixture('slurm', 'hb-jobinfo', 'squeue.txt'), 'utf8').trim().split('\n').map((l) => l.split('|')[0]!);
    const prom = readFileSync(fixture('slurm', 'prometheus-slurm-exporter', 'squeue.txt'), 'utf8').trim().split('\n').map((l) => l.split(',')[0]!);
    expect(hb).toContain('8322514_33');
    expect([...hb, ...prom].filter((id) => !isSlurmJobId(id))).toEqual([]);
  });

  it('sacct: jobs and array elements are job ids, their steps (.batch, .extern, .0) are not', () => {
    const ids = readFileSync(fixture('slurm', 'hb-jobinfo', 'sacct.txt'), 'utf8').trim().split('\n').map((l) => l.split('☃')[0]!);
    expect(ids.filter((id) => !id.includes('.')).every(isSlurmJobId)).toBe(true);
    expect(ids.filter((id) => id.includes('.')).some(isSlurmJobId)).toBe(false);
    expect(ids).toContain('5908801_3');
  });

  it("parseSqueue reads a real dump's ids and states, in the '%i %T %r' layout the status cache asks for", () => {
    const lines = readFileSync(fixture('slurm', 'prometheus-slurm-exporter', 'squeue.txt'), 'utf8').trim().split('\n');
    const jobs = parseSqueue(lines.map((l) => `${l.replace(',', ' ')} None`).join('\n'));
    expect(jobs.size).toBe(lines.length);
    expect(jobs.get('15452448')).toEqual({ state: 'PREEMPTED', reason: 'None' });
  });
});

describe('SLURM job ids: the forms squeue(1) documents', () => {
  it('plain, array element, pending array elements on one line, heterogeneous component', () => {
    for (const id of ['12', '123_4', '123_[5-9%2]', '123_[1,3,5-7:2]', '123+0', '123+12']) expect(isSlurmJobId(id), id).toBe(true);
    for (const id of ['', 'x12', '12a', '123_', '123+', '123.batch', '123 4', '-1', '123_[a]']) expect(isSlurmJobId(id), id).toBe(false);
  });
});

describe('parseSqueue: what it refuses', () => {
  it('a login banner printed into the answer', () => {
    const e = thrown<ReadError>(() => parseSqueue('Welcome to beefcake2, maintenance on Friday\n12 RUNNING None\n', 'squeue on beefcake2'));
    expect(e).toBeInstanceOf(ReadError);
    expect(e.message).toBe('squeue on beefcake2 line 1: "Welcome" is not a SLURM job id (123, 123_4, 123_[1-5] or 123+0): "Welcome to beefcake2, maintenance on Friday"');
  });

  it('a line with one word, or a state that is not one', () => {
    expect(() => parseSqueue('12 RUNNING None\n13\n')).toThrow(/^squeue -h -o '%i %T %r' line 2: expected "<job id> <state> <reason>": "13"$/);
    expect(() => parseSqueue('12 running None\n')).toThrow(/line 1: "running" is not a SLURM job state/);
  });

  it('the submit answer: an id that is not one is no answer', () => {
    expect(parseSubmitAnswer('submitted 123+0\n')).toEqual({ kind: 'submitted', jobId: '123+0' });
    expect(parseSubmitAnswer('submitted 12_\n')).toBeUndefined();
  });
});
