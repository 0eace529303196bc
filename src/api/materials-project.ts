/**
 * Structures from the Materials Project (https://api.materialsproject.org) by id, e.g. "mp-149".
 * The API key comes from the environment (MP_API_KEY or PMG_MAPI_KEY); it is sent only to the API, never logged,
 * and never put into a workflow input (the plan carries the resolved structure and the id).
 */
import { z } from 'zod';
import { cartToFrac } from '../domain/structure/lattice.ts';
import type { Mat3, Structure, Vec3 } from '../domain/structure/structure.ts';

const MP_API = 'https://api.materialsproject.org';

export class MaterialsProjectError extends Error {
  override name = 'MaterialsProjectError';
}

/** pymatgen's Structure.as_dict(), the shape the API returns. */
const PymatgenStructureSchema = z.object({
  lattice: z.object({ matrix: z.array(z.array(z.number()).length(3)).length(3) }),
  sites: z
    .array(
      z.object({
        species: z.array(z.object({ element: z.string(), occu: z.number() })).min(1),
        abc: z.array(z.number()).length(3).optional(),
        xyz: z.array(z.number()).length(3).optional(),
        label: z.string().optional(),
      }),
    )
    .min(1),
});

/** Converts pymatgen's structure dict; partial occupancies are refused with the site named. */
export function structureFromPymatgen(data: unknown, source: string): Structure {
  const parsed = PymatgenStructureSchema.safeParse(data);
  if (!parsed.success) {
    throw new MaterialsProjectError(`${source}: not a pymatgen structure: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const lattice = parsed.data.lattice.matrix as Mat3;
  const sites = parsed.data.sites.map((site, i) => {
    if (site.species.length !== 1 || Math.abs(site.species[0]!.occu - 1) > 1e-6) {
      throw new MaterialsProjectError(`${source}: site ${i} (${site.label ?? ''}) is partially occupied; not supported`);
    }
    const frac = site.abc ? (site.abc as Vec3) : site.xyz ? cartToFrac(lattice, site.xyz as Vec3) : undefined;
    if (!frac) throw new MaterialsProjectError(`${source}: site ${i} has neither abc nor xyz`);
    return { species: site.species[0]!.element, frac, ...(site.label ? { label: site.label } : {}) };
  });
  return { lattice, sites, title: source };
}

export async function fetchMaterialsProjectStructure(id: string, env: NodeJS.ProcessEnv = process.env): Promise<Structure> {
  if (!/^mp-\d+$/.test(id)) throw new MaterialsProjectError(`"${id}" is not a Materials Project id (expected e.g. mp-149)`);
  const key = env.MP_API_KEY ?? env.PMG_MAPI_KEY;
  if (!key) {
    throw new MaterialsProjectError(`fromMaterialsProject("${id}"): no API key. Set MP_API_KEY (from https://next-gen.materialsproject.org/api) or use fromFile / fromStructure`);
  }
  let response: Response;
  try {
    response = await fetch(`${MP_API}/materials/summary/?material_ids=${encodeURIComponent(id)}&_fields=material_id,structure`, {
      headers: { 'X-API-KEY': key, accept: 'application/json' },
    });
  } catch (e) {
    throw new MaterialsProjectError(`Materials Project API unreachable for ${id}: ${(e as Error).message}`);
  }
  if (response.status === 401 || response.status === 403) throw new MaterialsProjectError(`Materials Project refused the API key (HTTP ${response.status})`);
  if (!response.ok) throw new MaterialsProjectError(`Materials Project API answered HTTP ${response.status} for ${id}`);
  const body = (await response.json()) as { data?: { structure?: unknown }[] };
  const structure = body.data?.[0]?.structure;
  if (!structure) throw new MaterialsProjectError(`Materials Project has no structure for ${id}`);
  return structureFromPymatgen(structure, id);
}
