/** dos.x / projwfc.x inputs and executables, one place for the local run and the cluster job. */
import { describe, expect, it } from 'vitest';
import { ExecutableSchema } from '../../../src/domain/cluster-profile.ts';
import { dosWindow, postprocessInput, qeToolExecutable } from '../../../src/domain/codes/qe/postprocess.ts';

const exe = (v: unknown) => ExecutableSchema.parse(v);

describe('QE post-processing tools', () => {
  it('reads the nscf outdir in place, with the energy window', () => {
    const dos = postprocessInput('dos', '/scratch/wf/nscf/pw/1/', { emin: -20, emax: 20, deltaE: 0.02 });
    expect(dos).toMatchObject({ program: 'dos.x', codeId: 'qe-dos', inputFile: 'dos.in', stdoutFile: 'dos.out' });
    expect(dos.text).toMatch(/outdir\s*=\s*'\/scratch\/wf\/nscf\/pw\/1\/out'/);
    expect(dos.text).toMatch(/Emin\s*=\s*-20/i);
    expect(postprocessInput('projwfc', '/w', {}).program).toBe('projwfc.x');
  });

  it("the DOS window: ±20 eV around the scf's Fermi level, else its highest occupied level, else 0", () => {
    expect(dosWindow({ fermiEnergyEv: 12.4936, highestOccupiedEv: 3 })).toEqual({ emin: -7.51, emax: 32.49, deltaE: 0.02 });
    expect(dosWindow({ highestOccupiedEv: 6.2544 })).toEqual({ emin: -13.75, emax: 26.25, deltaE: 0.02 });
    expect(dosWindow({})).toEqual({ emin: -20, emax: 20, deltaE: 0.02 });
  });

  it("a cluster's executable: the profile's own entry, else the tool beside its pw.x (serial, same modules)", () => {
    const pw = exe({ executable: '/opt/qe-7.2/bin/pw.x', modules: ['qe/7.2'], environment: { OMP_NUM_THREADS: '1' } });
    const input = postprocessInput('projwfc', '/w', {});
    expect(qeToolExecutable({ 'qe-pw': pw }, input)).toEqual({ ...pw, executable: '/opt/qe-7.2/bin/projwfc.x', mpi: false });
    expect(qeToolExecutable({ 'qe-pw': exe('pw.x') }, input)!.executable).toBe('projwfc.x');
    const own = exe({ executable: '/site/projwfc-patched.x', mpi: true });
    expect(qeToolExecutable({ 'qe-pw': pw, 'qe-projwfc': own }, input)).toBe(own);
    expect(qeToolExecutable({ vasp: exe('vasp_std') }, input)).toBeUndefined();
  });
});
