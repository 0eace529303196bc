import { z } from 'zod';
import type { Structure } from './structure.ts';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const vec3 = z.tuple([finite, finite, finite]);

/** Validates a Structure crossing a boundary (workflow input, JSON file). */
export const StructureSchema = z.object({
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
}) satisfies z.ZodType<Structure>;
