import { z } from 'zod';
import { describeReason } from '../read-error.ts';
import { structureProblem } from './sanity.ts';
import type { Structure } from './structure.ts';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const vec3 = z.tuple([finite, finite, finite]);

/**
 * Validates a Structure crossing a boundary (workflow input, JSON file, the pw.x input writer): its shape, then the
 * same physical sanity check the CIF and POSCAR readers apply (./sanity.ts, default limits), so a built-in, a
 * Materials Project structure or a relaxed cell fed to the next calculation is held to it too.
 */
export const StructureSchema = z
  .object({
    lattice: z.tuple([vec3, vec3, vec3]),
    sites: z
      .array(
        z.object({
          species: z.string().regex(/^[A-Z][a-z]?$/, 'must be an element symbol such as "Si"'),
          frac: vec3,
          label: z.string().optional(),
          moves: z.tuple([z.boolean(), z.boolean(), z.boolean()]).optional(),
        }),
      )
      .min(1, 'a structure needs at least one site'),
    title: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    const problem = structureProblem(s);
    if (!problem) return;
    const path = problem.field === 'sites' ? ['sites', problem.sites![1]] : problem.axis !== undefined ? ['lattice', problem.axis] : ['lattice'];
    ctx.addIssue({ code: 'custom', path, message: describeReason(problem.kind, problem.reason) });
  }) satisfies z.ZodType<Structure>;
