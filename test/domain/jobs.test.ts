/** Job names and work directories: readable, distinct for distinct inputs, never `.` / `..`; parent directories confined. */
import { describe, expect, it } from 'vitest';
import { CalculationInputSchema, describeZodError } from '../../src/domain/calculation.ts';
import { fnv1a32 } from '../../src/domain/hash.ts';
import { absolutePathProblem, jobDirParts, jobNameFor, outsideRootProblem, safePathPart } from '../../src/domain/jobs.ts';
import { builtinStructure } from '../../src/domain/structure/index.ts';

describe('fnv1a32', () => {
  it('is FNV-1a: the published 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe('811c9dc5');
    expect(fnv1a32('a')).toBe('e40c292c');
    expect(fnv1a32('foobar')).toBe('bf9cf968');
  });
});

describe('work directories and job names', () => {
  it('keep ids apart that once shared a directory and a job (run:1 and run_1)', () => {
    expect(safePathPart('run:1')).not.toBe(safePathPart('run_1'));
    expect(jobDirParts('run:1', 'pw', 1)).not.toEqual(jobDirParts('run_1', 'pw', 1));
    expect(jobNameFor('run:1', 'pw', 1)).not.toBe(jobNameFor('run_1', 'pw', 1));
    // Where the workflow id ends and the step begins matters too.
    expect(jobNameFor('wf-a', 'b', 1)).not.toBe(jobNameFor('wf', 'a-b', 1));
    // Ids that differ only past the readable part's length.
    const long = 'x'.repeat(300);
    expect(safePathPart(`${long}1`)).not.toBe(safePathPart(`${long}2`));
    expect(jobNameFor(`${long}1`, 'pw', 1)).not.toBe(jobNameFor(`${long}2`, 'pw', 1));
  });

  it('are readable, safe for files and schedulers, and never . or ..', () => {
    expect(safePathPart('scf-Si2-1a2b')).toMatch(/^scf-Si2-1a2b-[0-9a-f]{8}$/);
    expect(jobNameFor('scf-Si2-1a2b', 'pw', 3)).toMatch(/^cm-scf-Si2-1a2b-pw-3-[0-9a-f]{8}$/);
    for (const s of ['.', '..', '', '../../etc', 'a/b', 'x\ny', 'ü']) {
      const part = safePathPart(s);
      expect(part, s).toMatch(/^[A-Za-z0-9._-]+$/);
      expect(['.', '..'], s).not.toContain(part);
      expect(jobNameFor(s, s, 1), s).toMatch(/^[A-Za-z0-9._-]+$/);
    }
    expect(safePathPart('x'.repeat(1000)).length).toBeLessThanOrEqual(109);
    expect(jobNameFor('x'.repeat(1000), 'pw', 1).length).toBeLessThanOrEqual(200);
  });
});

describe('parent work directories', () => {
  it('must be plain absolute paths strictly inside the root', () => {
    expect(absolutePathProblem('/w/a/pw/1')).toBeUndefined();
    expect(absolutePathProblem('w/a')).toMatch(/absolute/);
    expect(absolutePathProblem('/w/../etc')).toMatch(/\.\. segments/);
    expect(absolutePathProblem('/w/./a')).toMatch(/\. or \.\. segments/);
    expect(absolutePathProblem('/w/a\n/b')).toMatch(/newlines/);
    expect(outsideRootProblem('/w/a/pw/1', '/w')).toBeUndefined();
    expect(outsideRootProblem('/w/a/pw/1', '/w/')).toBeUndefined();
    expect(outsideRootProblem('/w', '/w')).toMatch(/inside \/w\//);
    expect(outsideRootProblem('/w/', '/w')).toMatch(/inside \/w\//);
    expect(outsideRootProblem('/work/a', '/w')).toMatch(/inside \/w\//);
    expect(outsideRootProblem('/etc', '/w')).toMatch(/inside \/w\//);
    expect(outsideRootProblem('/w/../etc', '/w')).toMatch(/\.\. segments/);
  });

  it('are refused by the calculation input schema, naming the field', () => {
    const input = (workDir: string) => ({ code: 'qe-pw', structure: builtinStructure('Si')!, calculation: 'nscf', parent: { workDir, kind: 'charge-density' } });
    expect(CalculationInputSchema.safeParse(input('/w/scf/pw/1')).success).toBe(true);
    const bad = CalculationInputSchema.safeParse(input('../scf'));
    expect(bad.success).toBe(false);
    expect(describeZodError(bad.error!)).toBe('parent.workDir: must be an absolute path');
    expect(describeZodError(CalculationInputSchema.safeParse(input('/w/../../etc')).error!)).toBe('parent.workDir: must not contain . or .. segments');
  });
});
