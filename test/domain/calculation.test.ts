import { describe, expect, it } from 'vitest';
import { coreSeconds, type AttemptRecord } from '../../src/domain/calculation.ts';

const attempt = (wallSeconds: number | undefined): AttemptRecord =>
  ({ attempt: 1, job: { state: 'completed', ...(wallSeconds !== undefined ? { wallSeconds } : {}) } }) as AttemptRecord;

describe('coreSeconds', () => {
  it('sums the wall time of every attempt, repaired ones too, times the MPI ranks', () => {
    expect(coreSeconds({ attempts: [attempt(30), attempt(12.5), attempt(100)] }, 4)).toBe(570);
  });
  it('a job without a wall time counts 0; no attempts, 0', () => {
    expect(coreSeconds({ attempts: [attempt(undefined), attempt(10)] }, 1)).toBe(10);
    expect(coreSeconds({ attempts: [] }, 8)).toBe(0);
  });
});
