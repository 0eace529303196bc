import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_CLUSTERS_DIR, loadClusterProfile } from '../../../src/clusters/loader.ts';
import { makeLocalProfile } from '../../../src/clusters/local.ts';
import { getOptimalResources } from '../../../src/clusters/resources.ts';
import { calculationTypeOf } from '../../../src/domain/calculation-types.ts';
import { codeFamily } from '../../../src/domain/codes/catalog.ts';

const beefcake2 = loadClusterProfile(join(EXAMPLE_CLUSTERS_DIR, 'beefcake2.yaml'));
const laptop = makeLocalProfile({ workDir: '/tmp/w', cores: 2, memoryGb: 8 });

describe('getOptimalResources without a profile', () => {
  it('scales ranks and walltime with the number of atoms', () => {
    const at = (atoms: number) => getOptimalResources({ code: 'qe', systemSize: atoms, calculationType: 'scf' });
    expect([2, 8, 40, 100, 200, 500].map((a) => at(a).mpiRanks)).toEqual([4, 8, 16, 32, 64, 128]);
    expect([2, 8, 40, 100, 200, 500].map((a) => at(a).walltimeSeconds / 3600)).toEqual([1, 2, 4, 8, 16, 24]);
    expect(at(2)).toMatchObject({ nodes: 1, cpusPerTask: 1, useGpu: false, gpusPerNode: 0, walltime: '0-01:00:00' });
    expect(at(2).partition).toBeUndefined();
  });

  it('makes relaxations longer and GW, BSE and phonons heavier than an SCF', () => {
    const scf = getOptimalResources({ code: 'vasp', systemSize: 10, calculationType: 'scf' });
    const relax = getOptimalResources({ code: 'vasp', systemSize: 10, calculationType: 'relax' });
    const gw = getOptimalResources({ code: 'yambo', systemSize: 10, calculationType: 'gw' });
    const bse = getOptimalResources({ code: 'yambo', systemSize: 10, calculationType: 'bse' });
    const ph = getOptimalResources({ code: 'qe-ph', systemSize: 10, calculationType: 'phonon' });
    expect(relax.mpiRanks).toBe(scf.mpiRanks);
    expect(relax.walltimeSeconds).toBe(3 * scf.walltimeSeconds);
    for (const heavy of [gw, bse, ph]) {
      expect(heavy.mpiRanks).toBe(2 * scf.mpiRanks);
      expect(heavy.walltimeSeconds).toBeGreaterThan(scf.walltimeSeconds);
      expect(heavy.memoryGb).toBeGreaterThan(scf.memoryGb);
    }
  });

  it('uses GPUs only for VASP, QE and YAMBO', () => {
    for (const code of ['vasp', 'qe', 'yambo']) {
      const r = getOptimalResources({ code, systemSize: 12, calculationType: 'scf', useGpu: true });
      expect(r.useGpu, code).toBe(true);
      expect(r.gpusPerNode).toBe(1);
      expect(r.mpiRanks).toBe(1); // one rank per GPU
      expect(r.walltimeSeconds).toBe(3600); // 2 h × 0.5
    }
    for (const code of ['crystal23', 'wannier90', 'phonopy']) {
      const r = getOptimalResources({ code, systemSize: 12, useGpu: true });
      expect(r.useGpu, code).toBe(false);
      expect(r.gpusPerNode).toBe(0);
      expect(r.notes.join(' ')).toMatch(/no GPU build/);
    }
  });

  it('runs post-processing codes as one threaded task and caps wannier90', () => {
    expect(getOptimalResources({ code: 'boltztrap2', systemSize: 50, calculationType: 'transport' })).toMatchObject({ mpiRanks: 1, cpusPerTask: 4, walltimeSeconds: 3600 });
    expect(getOptimalResources({ code: 'wannier90', systemSize: 50, calculationType: 'wannier' }).mpiRanks).toBe(4);
  });

  it('is deterministic and knows the usual aliases', () => {
    const req = { code: 'quantum_espresso', systemSize: 33, calculationType: 'g0w0', useGpu: true };
    expect(getOptimalResources(req)).toEqual(getOptimalResources(req));
    expect(codeFamily('qe-pw')).toBe('qe');
    expect(codeFamily('vasp_std')).toBe('vasp');
    expect(codeFamily('CRYSTAL')).toBe('crystal23');
    expect(calculationTypeOf('evGW')).toBe('gw');
    expect(calculationTypeOf(undefined)).toBe('scf');
    expect(() => codeFamily('gaussian')).toThrow(/unknown code "gaussian"/);
    expect(() => calculationTypeOf('magic')).toThrow(/unknown calculation type/);
    expect(() => getOptimalResources({ code: 'qe', systemSize: 0 })).toThrow(/systemSize/);
  });
});

describe('getOptimalResources on a cluster profile', () => {
  it('puts a YAMBO GW run on beefcake2 on the GPU partition, one rank per V100S', () => {
    // The seed's example: get_optimal_resources(code="yambo", system_size=12, calculation_type="gw", use_gpu=True)
    const r = getOptimalResources({ code: 'yambo', systemSize: 12, calculationType: 'gw', useGpu: true }, beefcake2);
    expect(r).toMatchObject({ partition: 'gpu', useGpu: true, nodes: 1, gpusPerNode: 2, mpiRanks: 2, ranksPerNode: 2, cpusPerTask: 10 });
    expect(r.walltime).toBe('0-04:00:00');
  });

  it('uses the default CPU partition and spreads ranks evenly over whole nodes', () => {
    const r = getOptimalResources({ code: 'vasp', systemSize: 300, calculationType: 'relax' }, beefcake2);
    expect(r).toMatchObject({ partition: 'compute', nodes: 4, ranksPerNode: 32, mpiRanks: 128, useGpu: false });
    expect(r.walltime).toBe('3-00:00:00');
  });

  it('caps the walltime at the partition limit and says so', () => {
    const r = getOptimalResources({ code: 'vasp', systemSize: 300, calculationType: 'md', useGpu: true }, beefcake2);
    expect(r.partition).toBe('gpu');
    expect(r.walltime).toBe('2-00:00:00'); // 24 h × 6 × 0.5 = 72 h > the gpu partition's 2 days
    expect(r.notes.join(' ')).toMatch(/capped at partition gpu/);
  });

  it('falls back to CPUs on a cluster without GPUs and fits the machine', () => {
    const r = getOptimalResources({ code: 'qe-pw', systemSize: 8, calculationType: 'scf', useGpu: true }, laptop);
    expect(r).toMatchObject({ partition: 'local', nodes: 1, mpiRanks: 2, useGpu: false, memoryGb: 4 });
    expect(r.notes.join(' ')).toMatch(/no GPUs/);
    expect(getOptimalResources({ code: 'qe', systemSize: 8, calculationType: 'gw' }, laptop).memoryGb).toBe(8);
  });

  it('honours a named partition and refuses an unknown one', () => {
    expect(getOptimalResources({ code: 'qe', systemSize: 2, partition: 'gpu' }, beefcake2)).toMatchObject({ partition: 'gpu', useGpu: false });
    expect(() => getOptimalResources({ code: 'qe', systemSize: 2, partition: 'bigmem' }, beefcake2)).toThrow(/no partition "bigmem" \(it has: compute, gpu\)/);
  });
});
