import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WorkflowStepSchema } from '../../../src/domain/plan/plan.ts';
import { importPwd } from '../../../src/domain/pwd/index.ts';
import type { PwdImport, UnsupportedNode } from '../../../src/domain/pwd/index.ts';
import { describeShared, fixture } from '../../support/shared.ts';

const read = (...p: string[]) => JSON.parse(readFileSync(fixture(...p), 'utf8')) as { nodes: { id: number; type: string }[] };

/** Every node is either a step, absorbed into a step (input / get_dict feeding it), or reported. */
function expectEveryNodeAccountedFor(json: { nodes: { id: number; type: string }[] }, result: PwdImport, absorbed: number[]) {
  const stepIds = Object.values(result.nodeIds);
  const reported = result.unsupported.map((u) => u.nodeId);
  const all = [...stepIds, ...reported, ...absorbed].sort((a, b) => a - b);
  expect(all).toEqual(json.nodes.map((n) => n.id).sort((a, b) => a - b));
}

const reasonOf = (unsupported: UnsupportedNode[], id: number) => unsupported.find((u) => u.nodeId === id)?.reason;

describeShared('import of the PWD Quantum ESPRESSO energy–volume example (Al)', () => {
  const json = read('pwd', 'quantum_espresso', 'workflow.json');
  const result = importPwd(json);

  it('maps the six calculate_qe (pw.x) runs: the vc-relax to relax, the five strained scf runs to scf', () => {
    const qe = (working_directory: string, calculation: string) => ({
      working_directory,
      input_dict: { pseudopotentials: { Al: 'Al.pbe-n-kjpaw_psl.1.0.0.UPF' }, kpts: [3, 3, 3], calculation, smearing: 0.02 },
    });
    expect(result.steps).toStrictEqual([
      WorkflowStepSchema.parse({ name: 'relax', type: 'relax', code: 'quantum_espresso', parameters: qe('mini', 'vc-relax') }),
      ...[0, 1, 2, 3, 4].map((i) =>
        WorkflowStepSchema.parse({ name: `scf_${i + 1}`, type: 'scf', code: 'quantum_espresso', parameters: qe(`strain_${i}`, 'scf'), dependsOn: ['relax'] }),
      ),
    ]);
    expect(result.nodeIds).toEqual({ relax: 1, scf_1: 3, scf_2: 4, scf_3: 5, scf_4: 6, scf_5: 7 });
    // no CrystalMath structure anywhere (ASE builds it), so no plan
    expect(result.structure).toBeUndefined();
    expect(result.plan).toBeUndefined();
  });

  it('reports exactly what does not map, each with its reason', () => {
    expect(result.unsupported.map((u) => [u.nodeId, u.type, u.value])).toEqual([
      [0, 'function', 'workflow.get_bulk_structure'],
      [2, 'function', 'workflow.generate_structures'],
      [8, 'function', 'workflow.plot_energy_volume_curve'],
      [9, 'input', 'Al'],
      [10, 'input', 4.05],
      [11, 'input', true],
      [18, 'input', [0.9, 0.95, 1.0, 1.05, 1.1]],
      [30, 'function', 'python_workflow_definition.shared.get_list'],
      [31, 'function', 'python_workflow_definition.shared.get_list'],
      [32, 'output', 'result'],
    ]);
    const u = result.unsupported;
    expect(reasonOf(u, 0)).toBe(
      'workflow.get_bulk_structure: builds the starting structure with ASE (bulk(element, a, cubic)); a CrystalMath plan takes its ' +
        'structure at plan level (WorkflowPlan.structure: a built-in name, a CIF / POSCAR file or a Materials Project id), not from a step. ' +
        'Its result fed relax.input_dict.structure; relax runs without it',
    );
    expect(reasonOf(u, 2)).toBe(
      'workflow.generate_structures: makes strained copies of a structure (strain_lst) for an energy–volume scan; CrystalMath has no ' +
        'structure-transformation step, and a plan runs on one structure. Its result fed scf_1.input_dict.structure, ' +
        'scf_2.input_dict.structure, scf_3.input_dict.structure, scf_4.input_dict.structure, scf_5.input_dict.structure; ' +
        'scf_1, scf_2, scf_3, scf_4, scf_5 now depend on relax directly (the order is kept, what this node computed is not)',
    );
    expect(reasonOf(u, 8)).toBe(
      'workflow.plot_energy_volume_curve: post-processing (plots E(V) with matplotlib); CrystalMath has no plotting or fitting step. ' +
        'Its result fed output "result"',
    );
    expect(reasonOf(u, 9)).toBe('input "element" only fed node 0 (workflow.get_bulk_structure) argument "element", none of it imported');
    expect(reasonOf(u, 18)).toBe('input "strain_lst" only fed node 2 (workflow.generate_structures) argument "strain_lst", none of it imported');
    expect(reasonOf(u, 30)).toBe(
      'python_workflow_definition.shared.get_list: PWD plumbing collecting scf_1 "volume", scf_2 "volume", scf_3 "volume", ' +
        'scf_4 "volume", scf_5 "volume", whose result only fed node 8 (workflow.plot_energy_volume_curve) argument "volume_lst", none of it imported',
    );
    expect(reasonOf(u, 31)).toContain('collecting scf_1 "energy"');
    expect(reasonOf(u, 32)).toBe('output "result" is the result of node 8 (workflow.plot_energy_volume_curve), not of an imported step');
  });

  it('drops nothing silently: every node is a step, part of one, or reported', () => {
    // absorbed: working directories, shared inputs and the get_dict input_dicts of the six pw.x runs
    expectEveryNodeAccountedFor(json, result, [12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  });
});

describeShared('import of the PWD arithmetic example', () => {
  const json = read('pwd', 'arithmetic', 'workflow.json');
  const result = importPwd(json);

  it('has no CrystalMath step, and says so for every node', () => {
    expect(result.steps).toEqual([]);
    expect(result.unsupported.map((u) => [u.nodeId, u.value])).toEqual([
      [0, 'workflow.get_prod_and_div'],
      [1, 'workflow.get_sum'],
      [2, 'workflow.get_square'],
      [3, 1],
      [4, 2],
      [5, 'result'],
    ]);
    expect(reasonOf(result.unsupported, 1)).toMatch(/^workflow\.get_sum: no CrystalMath step of that name \(step types: relax, scf, .*\)\. Its result fed node 2 \(workflow\.get_square\) argument "x"$/);
    expect(reasonOf(result.unsupported, 0)).toContain('Its result fed node 1 (workflow.get_sum) argument "x", node 1 (workflow.get_sum) argument "y"');
    expectEveryNodeAccountedFor(json, result, []);
  });
});

describe('calculate_qe with a pw.x calculation CrystalMath has no step for', () => {
  it('is reported with the calculation', () => {
    const result = importPwd({
      version: '0.1.0',
      nodes: [
        { id: 0, type: 'function', value: 'workflow.calculate_qe' },
        { id: 1, type: 'function', value: 'python_workflow_definition.shared.get_dict' },
        { id: 2, type: 'input', name: 'calculation', value: 'md' },
        { id: 3, type: 'input', name: 'working_directory', value: 'md' },
      ],
      edges: [
        { source: 2, sourcePort: null, target: 1, targetPort: 'calculation' },
        { source: 1, sourcePort: null, target: 0, targetPort: 'input_dict' },
        { source: 3, sourcePort: null, target: 0, targetPort: 'working_directory' },
      ],
    });
    expect(result.steps).toEqual([]);
    expect(result.unsupported[0]).toEqual({
      nodeId: 0,
      type: 'function',
      value: 'workflow.calculate_qe',
      reason: 'workflow.calculate_qe: pw.x calculation "md" has no CrystalMath step (mapped: scf, relax, vc-relax, nscf, bands). Its result fed nothing',
    });
    expect(result.unsupported.map((u) => u.nodeId)).toEqual([0, 1, 2, 3]);
  });
});
