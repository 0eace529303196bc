import { describe, expect, it } from 'vitest';
import { WorkflowStepSchema } from '../../../src/domain/plan/plan.ts';
import {
  exportToPwd,
  importPwd,
  PWD_GET_DICT,
  PWD_VERSION,
  PwdExtensionsSchema,
  PwdValidationError,
  STEP_FUNCTION_PORTS,
  toPwdWithExtensions,
  validatePwd,
} from '../../../src/domain/pwd/index.ts';
import type { PwdWorkflow } from '../../../src/domain/pwd/index.ts';
import { PLANS, SI } from './plans.ts';

const VERSION = { crystalmathVersion: '9.9.9-test' };
/** What a file holds: the JSON text parsed again. */
const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Exactly the keys the PWD format has, per element kind. */
function expectOnlyPwdKeys(pwd: PwdWorkflow) {
  expect(Object.keys(pwd).sort()).toEqual(['edges', 'nodes', 'version']);
  for (const n of pwd.nodes) {
    const keys = Object.keys(n).sort();
    if (n.type === 'function') expect(keys).toEqual(['id', 'type', 'value']);
    else if (n.type === 'input') expect(keys).toEqual(['id', 'name', 'type', 'value']);
    else expect(keys).toEqual(['id', 'name', 'type']);
  }
  for (const e of pwd.edges) expect(Object.keys(e).sort()).toEqual(['source', 'sourcePort', 'target', 'targetPort']);
}

describe('plan → PWD → plan', () => {
  for (const [shape, plan] of Object.entries(PLANS)) {
    describe(shape, () => {
      it('round-trips to the identical plan (PWD + extensions, through JSON text)', () => {
        const [pwd, ext] = toPwdWithExtensions(plan, VERSION);
        const back = importPwd(viaJson(pwd), viaJson(ext));
        expect(back.unsupported).toEqual([]);
        expect(back.plan).toStrictEqual(plan);
        expect(back.steps).toStrictEqual(plan.steps);
        expect(back.structure).toStrictEqual(plan.structure);
      });

      it('round-trips the bare steps too (no plan: no structure, inherited settings stay unset)', () => {
        const [pwd, ext] = toPwdWithExtensions(plan.steps, VERSION);
        expect(ext.plan).toBeNull();
        const back = importPwd(viaJson(pwd), viaJson(ext));
        expect(back.steps).toStrictEqual(plan.steps);
        expect(back.structure).toBeUndefined();
        expect(back.plan).toBeUndefined();
        expect(back.unsupported).toEqual([]);
      });

      it('exports a valid PWD 0.1.0 workflow with only the format keys', () => {
        const pwd = exportToPwd(plan);
        expect(pwd.version).toBe(PWD_VERSION);
        expect(validatePwd(viaJson(pwd))).toStrictEqual(pwd);
        expectOnlyPwdKeys(pwd);
        // exactly one output node, as every PWD engine expects (remove_result drops one)
        expect(pwd.nodes.filter((n) => n.type === 'output')).toEqual([expect.objectContaining({ name: 'result' })]);
      });

      it('without the extensions keeps what PWD carries: types, codes, parameters, dependencies, protocols', () => {
        const pwd = exportToPwd(plan);
        const back = importPwd(viaJson(pwd));
        expect(back.unsupported).toEqual([]);
        const byNode = Object.fromEntries(Object.entries(back.nodeIds).map(([name, id]) => [id, name]));
        expect(back.steps).toHaveLength(plan.steps.length);
        plan.steps.forEach((step, i) => {
          const got = back.steps[i]!;
          expect(byNode[i]).toBe(got.name);
          expect({ type: got.type, code: got.code, parameters: got.parameters }).toStrictEqual({ type: step.type, code: step.code, parameters: step.parameters });
          expect(got.protocol).toBe(step.protocol ?? plan.protocol); // the protocol the step runs with
          const nameOf = (n: string) => back.steps[plan.steps.findIndex((s) => s.name === n)]!.name;
          expect(got.dependsOn).toEqual(step.dependsOn.map(nameOf));
          expect(got.resources).toBeUndefined();
          expect(got.recovery).toBeUndefined();
        });
        expect(back.structure).toStrictEqual(plan.structure);
      });
    });
  }
});

describe('the PWD graph of a plan', () => {
  it('one function node per step (workflow.<type>), step arguments wired as documented', () => {
    const plan = PLANS['gw → bse chain (fan-in)']!;
    const pwd = exportToPwd(plan);
    const fn = (id: number) => pwd.nodes.find((n) => n.id === id)!;
    expect(plan.steps.map((_, i) => fn(i))).toEqual([
      { id: 0, type: 'function', value: 'workflow.scf' },
      { id: 1, type: 'function', value: 'workflow.nscf' },
      { id: 2, type: 'function', value: 'workflow.gw' },
      { id: 3, type: 'function', value: 'workflow.bse' },
    ]);
    for (let i = 0; i < plan.steps.length; i++) {
      const ports = pwd.edges.filter((e) => e.target === i).map((e) => e.targetPort);
      const expected = plan.steps[i]!.dependsOn.length > 0 ? STEP_FUNCTION_PORTS : STEP_FUNCTION_PORTS.filter((p) => p !== 'parents');
      expect(ports.sort()).toEqual([...expected].sort());
    }
    // bse: structure from its first dependency, both dependencies by name through get_dict
    const bseIn = pwd.edges.filter((e) => e.target === 3);
    expect(bseIn.find((e) => e.targetPort === 'structure')).toMatchObject({ source: 2, sourcePort: 'structure' });
    const parents = bseIn.find((e) => e.targetPort === 'parents')!;
    expect(fn(parents.source)).toMatchObject({ type: 'function', value: PWD_GET_DICT });
    expect(pwd.edges.filter((e) => e.target === parents.source).map((e) => [e.source, e.targetPort, e.sourcePort])).toEqual([
      [2, 'gw', null],
      [1, 'nscf', null],
    ]);
    // inputs: the structure once, then code / parameters / protocol per step
    const inputs = pwd.nodes.filter((n) => n.type === 'input');
    expect(inputs.find((n) => n.name === 'structure')).toMatchObject({ value: SI });
    expect(inputs.find((n) => n.name === 'gw_code')).toMatchObject({ value: 'yambo' });
    expect(inputs.find((n) => n.name === 'gw_parameters')).toMatchObject({ value: { bandRange: [1, 60] } });
    expect(inputs.find((n) => n.name === 'gw_protocol')).toMatchObject({ value: 'moderate' });
    // the single last step is the result
    const out = pwd.nodes.find((n) => n.type === 'output')!;
    expect(pwd.edges.filter((e) => e.target === out.id)).toEqual([{ source: 3, sourcePort: null, target: out.id, targetPort: null }]);
  });

  it('several last steps: the result is a get_dict of them by step name', () => {
    const pwd = exportToPwd(PLANS['fan-out: bands and dos on scf']!);
    const out = pwd.nodes.find((n) => n.type === 'output')!;
    const [toOut] = pwd.edges.filter((e) => e.target === out.id);
    expect(pwd.nodes.find((n) => n.id === toOut!.source)).toMatchObject({ value: PWD_GET_DICT });
    expect(pwd.edges.filter((e) => e.target === toOut!.source).map((e) => [e.source, e.targetPort])).toEqual([
      [1, 'bands'],
      [2, 'dos'],
    ]);
  });

  it('is deterministic', () => {
    const plan = PLANS['every type and code, not in topological order, two roots']!;
    expect(JSON.stringify(toPwdWithExtensions(plan, VERSION))).toBe(JSON.stringify(toPwdWithExtensions(plan, VERSION)));
  });

  it('bare steps: the structure input is null and the protocol is the step\'s own or null', () => {
    const pwd = exportToPwd([
      { name: 'relax', type: 'relax', code: 'vasp', parameters: { force_threshold: 0.01 } },
      { name: 'bands', type: 'bands', code: 'vasp', dependsOn: ['relax'], protocol: 'fast' },
    ]);
    const input = (name: string) => pwd.nodes.find((n) => n.type === 'input' && n.name === name);
    expect(input('structure')).toMatchObject({ value: null });
    expect(input('relax_protocol')).toMatchObject({ value: null });
    expect(input('bands_protocol')).toMatchObject({ value: 'fast' });
  });
});

describe('extensions', () => {
  it("carry the seed's per-function fields, keyed func_<step name>, and the CrystalMath version", () => {
    const [pwd, ext] = toPwdWithExtensions(PLANS['chain relax → scf → bands → dos']!, VERSION);
    expect(PwdExtensionsSchema.parse(viaJson(ext))).toStrictEqual(ext);
    expect(ext.crystalmath_version).toBe('9.9.9-test');
    expect(ext.pwd_version).toBe(pwd.version);
    expect(Object.keys(ext.extensions)).toEqual(['func_relax', 'func_scf', 'func_bands', 'func_dos']);
    expect(ext.extensions.func_relax).toEqual({
      node_id: 0,
      function: 'workflow.relax',
      step_name: 'relax',
      workflow_type: 'relax',
      code: 'quantum_espresso',
      resources: { num_nodes: 1, num_mpi_ranks: 20, walltime_hours: 1 },
      protocol_level: 'moderate',
      protocol_inherited: true,
      error_recovery: 'adaptive',
      max_attempts: 5,
      recovery_inherited: true,
    });
    expect(ext.extensions.func_scf).toMatchObject({ resources: null, protocol_level: 'precise', protocol_inherited: false });
    expect(ext.extensions.func_bands).toMatchObject({ error_recovery: 'checkpoint', max_attempts: 5, recovery_inherited: false });
    expect(ext.plan).toEqual({
      protocol_level: 'moderate',
      cluster: 'local',
      error_recovery: 'adaptive',
      max_attempts: 5,
      structure_source: { kind: 'builtin', name: 'Si' },
    });
    for (const e of Object.values(ext.extensions)) expect(pwd.nodes.find((n) => n.id === e.node_id)).toMatchObject({ type: 'function', value: e.function });
  });

  it('a step explicitly set to the plan protocol stays explicit', () => {
    const plan = PLANS['fan-out: bands and dos on scf']!; // plan protocol precise, scf explicitly precise
    const [pwd, ext] = toPwdWithExtensions(plan, VERSION);
    expect(importPwd(pwd, ext).steps[0]!.protocol).toBe('precise');
    expect(ext.extensions.func_scf!.protocol_inherited).toBe(false);
  });

  it('are checked against the workflow', () => {
    const [pwd, ext] = toPwdWithExtensions(PLANS.phonon!, VERSION);
    const bad = viaJson(ext);
    bad.extensions.func_phonon!.node_id = 0;
    expect(() => importPwd(pwd, bad)).toThrow(/extensions\.func_phonon\.function: "workflow\.phonon", but node 0 is "workflow\.relax"/);
    const bad2 = viaJson(ext);
    bad2.extensions.func_phonon!.node_id = 99;
    expect(() => importPwd(pwd, bad2)).toThrow(/extensions\.func_phonon\.node_id: 99 is not a node id of the workflow/);
    const bad3 = viaJson(ext) as unknown as { extensions: Record<string, { resources: unknown }> };
    bad3.extensions.func_phonon!.resources = { num_nodes: 0, num_mpi_ranks: 8, walltime_hours: 6 };
    expect(() => importPwd(pwd, bad3)).toThrow(PwdValidationError);
    expect(() => importPwd(pwd, bad3)).toThrow(/invalid extensions\.json: extensions\.func_phonon\.resources\.num_nodes/);
  });
});

describe('export refuses what it cannot write', () => {
  it('names the step whose parameters are not JSON', () => {
    expect(() => exportToPwd([{ name: 'scf', type: 'scf', code: 'quantum_espresso', parameters: { conv: Number.NaN } }])).toThrow(
      /step "scf": parameters\.conv: NaN is not a JSON value/,
    );
  });

  it('invalid steps: unknown dependency, duplicate name, cycle', () => {
    expect(() => exportToPwd([{ name: 'bands', type: 'bands', code: 'vasp', dependsOn: ['scf'] }])).toThrow(/steps\[0\]\.dependsOn\[0\]: unknown step "scf"/);
    expect(() =>
      exportToPwd([
        { name: 'a', type: 'scf', code: 'vasp' },
        { name: 'a', type: 'scf', code: 'vasp' },
      ]),
    ).toThrow(/duplicate step name "a"/);
    expect(() =>
      exportToPwd([
        { name: 'a', type: 'scf', code: 'vasp', dependsOn: ['b'] },
        { name: 'b', type: 'scf', code: 'vasp', dependsOn: ['a'] },
      ]),
    ).toThrow(/dependency cycle/);
    expect(() => exportToPwd([])).toThrow(/at least one step/);
  });
});

describe('import of PWD that names CrystalMath functions differently', () => {
  it('accepts any module for a step type (crystalmath_workflow.relax) and defaults the code by type', () => {
    const back = importPwd({
      version: '0.1.0',
      nodes: [
        { id: 0, type: 'function', value: 'crystalmath_workflow.relax' },
        { id: 1, type: 'function', value: 'other.engine.gw' },
        { id: 2, type: 'input', name: 'force_threshold', value: 0.01 },
        { id: 3, type: 'output', name: 'result' },
      ],
      edges: [
        { source: 2, sourcePort: null, target: 0, targetPort: 'force_threshold' },
        { source: 0, sourcePort: 'structure', target: 1, targetPort: 'structure' },
        { source: 1, sourcePort: null, target: 3, targetPort: null },
      ],
    });
    expect(back.unsupported).toEqual([]);
    expect(back.steps).toStrictEqual([
      WorkflowStepSchema.parse({ name: 'relax', type: 'relax', code: 'quantum_espresso', parameters: { force_threshold: 0.01 } }),
      WorkflowStepSchema.parse({ name: 'gw', type: 'gw', code: 'yambo', dependsOn: ['relax'] }),
    ]);
  });

  it('reports a CrystalMath function with a code or protocol it does not know', () => {
    const back = importPwd({
      version: '0.1.0',
      nodes: [
        { id: 0, type: 'function', value: 'workflow.scf' },
        { id: 1, type: 'input', name: 'code', value: 'abinit' },
        { id: 2, type: 'function', value: 'workflow.dos' },
        { id: 3, type: 'input', name: 'protocol', value: 'ultra' },
      ],
      edges: [
        { source: 1, sourcePort: null, target: 0, targetPort: 'code' },
        { source: 3, sourcePort: null, target: 2, targetPort: 'protocol' },
      ],
    });
    expect(back.steps).toEqual([]);
    expect(back.unsupported.map((u) => [u.nodeId, u.reason])).toEqual([
      [0, expect.stringContaining('workflow.scf: code "abinit" is not one CrystalMath runs')],
      [1, expect.stringContaining('input "code" only fed node 0 (workflow')],
      [2, expect.stringContaining('workflow.dos: protocol "ultra" is not one of fast, moderate, precise')],
      [3, expect.stringContaining('input "protocol" only fed node 2 (workflow')],
    ]);
  });
});
