/** A scratch directory for tests that run Debian's QE on bulk Si: the LDA pseudo unpacked, and pw.x's common inputs. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEBIAN_QE_EXAMPLES_FAMILY } from '../../src/domain/codes/qe/pseudos.ts';
import { builtinStructure } from '../../src/domain/structure/builtins.ts';

export const SI_PSEUDO_GZ = '/usr/share/doc/quantum-espresso/examples/EPW/sic/pp/Si.pz-vbc.UPF.gz';

export function siScratch(tag: string) {
  const dir = mkdtempSync(join(tmpdir(), `crystalmath-${tag}-`));
  writeFileSync(join(dir, 'Si.pz-vbc.UPF'), gunzipSync(readFileSync(SI_PSEUDO_GZ)));
  const base = {
    structure: builtinStructure('Si')!,
    protocol: 'fast' as const,
    family: DEBIAN_QE_EXAMPLES_FAMILY,
    pseudoDir: dir,
    outdir: join(dir, 'out'),
    prefix: 'si',
    valenceElectrons: { Si: 4 },
  };
  return { dir, base };
}
