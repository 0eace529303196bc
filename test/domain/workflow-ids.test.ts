import { describe, expect, it } from 'vitest';
import { builtinStructure } from '../../src/domain/structure/index.ts';
import { readableWorkflowId } from '../../src/domain/workflow-ids.ts';

describe('readableWorkflowId', () => {
  const si = builtinStructure('Si')!;
  it('is analysis, formula and suffix', () => {
    expect(readableWorkflowId('relax-scf', si, '3fa9c1d2')).toBe('relax-scf-Si2-3fa9c1d2');
  });
  it('keeps to characters safe in paths and shells', () => {
    expect(readableWorkflowId('my plan/v1.2', si, 'ab')).toBe('my_plan_v1.2-Si2-ab');
  });
});
