/** Plan shapes for the PWD tests: every shape a WorkflowBuilder makes, with per-step resources / protocol / recovery. */
import { WorkflowPlanSchema } from '../../../src/domain/plan/plan.ts';
import type { WorkflowPlan, WorkflowPlanInput, WorkflowStepInput } from '../../../src/domain/plan/plan.ts';
import type { Structure } from '../../../src/domain/structure/structure.ts';

const A = 2.7155;
export const SI: Structure = {
  lattice: [
    [0, A, A],
    [A, 0, A],
    [A, A, 0],
  ],
  sites: [
    { species: 'Si', frac: [0, 0, 0] },
    { species: 'Si', frac: [0.25, 0.25, 0.25] },
  ],
  title: 'Si diamond',
};

export const MOS2: Structure = {
  lattice: [
    [3.16, 0, 0],
    [-1.58, 2.736640, 0],
    [0, 0, 12.3],
  ],
  sites: [
    { species: 'Mo', frac: [1 / 3, 2 / 3, 0.25] },
    { species: 'S', frac: [2 / 3, 1 / 3, 0.621], moves: [false, false, true] },
    { species: 'S', frac: [2 / 3, 1 / 3, 0.879], label: 'S2' },
  ],
};

const plan = (input: Omit<WorkflowPlanInput, 'structure'> & { structure?: Structure }): WorkflowPlan =>
  WorkflowPlanSchema.parse({ structure: SI, ...input });

const qe = (name: string, type: WorkflowStepInput['type'], extra: Partial<WorkflowStepInput> = {}): WorkflowStepInput => ({
  name,
  type,
  code: 'quantum_espresso',
  ...extra,
});

export const PLANS: Record<string, WorkflowPlan> = {
  single: plan({ steps: [qe('scf', 'scf')] }),
  'single with everything set': plan({
    name: 'Si scf, precise',
    structure: MOS2,
    structureSource: { kind: 'file', path: 'structures/MoS2.cif' },
    protocol: 'fast',
    magnetism: 'collinear',
    cluster: 'beefcake2',
    recovery: { strategy: 'retry', maxAttempts: 3 },
    outputDir: '/scratch/mos2',
    steps: [
      qe('scf-1', 'scf', {
        parameters: { system: { ecutwfc: 60, occupations: 'smearing' }, kpoints: { mesh: [8, 8, 2] }, note: null },
        resources: { numNodes: 2, numMpiRanks: 64, walltimeHours: 12, partition: 'gpu', gpus: 4, memoryGb: 256 },
        protocol: 'precise',
        recovery: { strategy: 'fail_fast', maxAttempts: 1 },
      }),
    ],
  }),
  'chain relax → scf → bands → dos': plan({
    structureSource: { kind: 'builtin', name: 'Si' },
    steps: [
      qe('relax', 'relax', { parameters: { force_threshold: 0.01 }, resources: { numMpiRanks: 20 } }),
      qe('scf', 'scf', { dependsOn: ['relax'], protocol: 'precise' }),
      qe('bands', 'bands', { dependsOn: ['scf'], parameters: { kpointsPerSegment: 40 }, recovery: { strategy: 'checkpoint' } }),
      qe('dos', 'dos', { dependsOn: ['bands'], resources: { walltimeHours: 0.5 } }),
    ],
  }),
  'fan-out: bands and dos on scf': plan({
    structureSource: { kind: 'materials-project', id: 'mp-149' },
    protocol: 'precise',
    steps: [
      qe('scf', 'scf', { protocol: 'precise' }),
      qe('bands', 'bands', { dependsOn: ['scf'], protocol: 'moderate' }),
      qe('dos', 'dos', { dependsOn: ['scf'], parameters: { nBands: 16 }, recovery: { strategy: 'adaptive', maxAttempts: 5 } }),
    ],
  }),
  'gw → bse chain (fan-in)': plan({
    steps: [
      qe('scf', 'scf'),
      qe('nscf', 'nscf', { dependsOn: ['scf'], parameters: { nBands: 100 } }),
      { name: 'gw', type: 'gw', code: 'yambo', dependsOn: ['nscf'], parameters: { bandRange: [1, 60] }, resources: { numNodes: 4, numMpiRanks: 128, walltimeHours: 24 } },
      { name: 'bse', type: 'bse', code: 'yambo', dependsOn: ['gw', 'nscf'], recovery: { strategy: 'retry', maxAttempts: 2 } },
    ],
  }),
  phonon: plan({
    steps: [
      qe('relax', 'relax', { protocol: 'precise' }),
      { name: 'phonon', type: 'phonon', code: 'phonopy', dependsOn: ['relax'], parameters: { supercell: [2, 2, 2] }, resources: { numMpiRanks: 8, walltimeHours: 6 } },
    ],
  }),
  'every type and code, not in topological order, two roots': plan({
    steps: [
      { name: 'transport', type: 'transport', code: 'boltztrap2', dependsOn: ['nscf_vasp'] },
      { name: 'relax_vasp', type: 'relax', code: 'vasp', resources: { numMpiRanks: 20 } },
      { name: 'nscf_vasp', type: 'nscf', code: 'vasp', dependsOn: ['relax_vasp'] },
      { name: 'wannier', type: 'wannier', code: 'wannier90', dependsOn: ['nscf_vasp', 'relax_vasp'] },
      { name: 'crystal_scf', type: 'scf', code: 'crystal23', protocol: 'fast' },
      { name: 'elastic', type: 'elastic', code: 'crystal23', dependsOn: ['crystal_scf'], recovery: { strategy: 'fail_fast' } },
      { name: 'ph', type: 'phonon', code: 'quantum_espresso', dependsOn: ['crystal_scf', 'relax_vasp'] },
    ],
  }),
};
