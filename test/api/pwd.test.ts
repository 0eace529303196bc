import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { crystalmathVersion, exportToPwd, importFromPwd, PWDConverter, PwdValidationError, savePwd, validatePwd } from '../../src/api/pwd.ts';
import { WorkflowPlanSchema } from '../../src/domain/plan/plan.ts';
import type { WorkflowPlan } from '../../src/domain/plan/plan.ts';
import { PwdExtensionsSchema, STEP_FUNCTION_PORTS } from '../../src/domain/pwd/index.ts';
import { parseStructureText } from '../../src/domain/structure/index.ts';
import { MOS2, PLANS, SI } from '../domain/pwd/plans.ts';
import { describeShared, fixture } from '../support/shared.ts';

const tmp = mkdtempSync(join(tmpdir(), 'crystalmath-pwd-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;
const itPython = python ? it : it.skip;

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `def name(a, b=None):` → { name: ['a', 'b'] }, by regex. */
function pythonFunctions(source: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of source.matchAll(/^def ([A-Za-z_]\w*)\(([^)]*)\):/gm)) {
    out[m[1]!] = m[2]!.split(',').map((a) => a.trim().replace(/=.*$/, '')).filter(Boolean);
  }
  return out;
}

function runPython(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(python!, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('savePwd writes the four files of a PWD package', () => {
  for (const [shape, plan] of Object.entries(PLANS)) {
    describe(shape, () => {
      const name = `pkg_${Object.keys(PLANS).indexOf(shape)}`;
      const saved = savePwd(plan, tmp, name);
      const dir = join(tmp, name);

      it('creates <dir>/<name>/ with workflow.json, workflow.py, environment.yml, extensions.json', () => {
        expect(saved.dir).toBe(dir);
        expect(readdirSync(dir).sort()).toEqual(['environment.yml', 'extensions.json', 'workflow.json', 'workflow.py']);
        expect(saved.files).toEqual({
          workflow: join(dir, 'workflow.json'),
          python: join(dir, 'workflow.py'),
          environment: join(dir, 'environment.yml'),
          extensions: join(dir, 'extensions.json'),
        });
      });

      it('workflow.json parses, validates against the PWD format and is the export', () => {
        const json = JSON.parse(readFileSync(saved.files.workflow, 'utf8')) as unknown;
        expect(validatePwd(json)).toStrictEqual(exportToPwd(plan));
        expect((json as { version: string }).version).toBe('0.1.0');
      });

      it('workflow.py defines every function workflow.json names, with the argument names of its edges', () => {
        const json = validatePwd(JSON.parse(readFileSync(saved.files.workflow, 'utf8')));
        const py = readFileSync(saved.files.python, 'utf8');
        const defs = pythonFunctions(py);
        const named = [...new Set(json.nodes.flatMap((n) => (n.type === 'function' && n.value.startsWith('workflow.') ? [n.value.slice('workflow.'.length)] : [])))];
        expect(named.sort()).toEqual([...new Set(plan.steps.map((s) => s.type))].sort());
        for (const fn of named) {
          expect(defs[fn], `def ${fn}`).toEqual([...STEP_FUNCTION_PORTS]);
          expect(py).toMatch(new RegExp(`^def ${fn}\\(structure, code, parameters, protocol, parents=None\\):$`, 'm'));
          for (const node of json.nodes.filter((n) => n.type === 'function' && n.value === `workflow.${fn}`)) {
            const ports = json.edges.filter((e) => e.target === node.id).map((e) => e.targetPort!);
            for (const p of ports) expect(defs[fn]).toContain(p);
            // every argument without a default is fed
            for (const required of defs[fn]!.filter((a) => a !== 'parents')) expect(ports).toContain(required);
          }
        }
        // the other functions come from the PWD package itself
        const others = json.nodes.filter((n) => n.type === 'function' && !n.value.startsWith('workflow.'));
        for (const n of others) expect(n).toMatchObject({ value: 'python_workflow_definition.shared.get_dict' });
      });

      itPython('workflow.py is valid Python, and Python sees the same signatures', () => {
        const r = runPython([
          '-c',
          'import ast, json, sys; t = ast.parse(open(sys.argv[1]).read()); ' +
            'print(json.dumps({f.name: [a.arg for a in f.args.args] for f in t.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")}))',
          saved.files.python,
        ]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const defs = JSON.parse(r.stdout) as Record<string, string[]>;
        expect(Object.keys(defs).sort()).toEqual([...new Set(plan.steps.map((s) => s.type))].sort());
        for (const args of Object.values(defs)) expect(args).toEqual([...STEP_FUNCTION_PORTS]);
      });

      it('environment.yml: a conda environment with python, node for the CLI, PWD and the codes used', () => {
        const text = readFileSync(saved.files.environment, 'utf8');
        const env = parseYaml(text) as { name: string; channels: string[]; dependencies: (string | { pip: string[] })[] };
        expect(env.name).toBe(name);
        expect(env.channels).toEqual(['conda-forge']);
        const conda = env.dependencies.filter((d): d is string => typeof d === 'string');
        const pip = env.dependencies.flatMap((d) => (typeof d === 'string' ? [] : d.pip));
        expect(conda).toContain('python>=3.10');
        expect(conda).toContain('nodejs>=20');
        expect(conda).toContain('pip');
        expect(pip).toContain('python-workflow-definition>=0.1');
        const codes = new Set(plan.steps.map((s) => s.code));
        expect(conda.includes('qe')).toBe(codes.has('quantum_espresso'));
        expect(conda.includes('yambo')).toBe(codes.has('yambo'));
        expect(conda.includes('phonopy')).toBe(codes.has('phonopy'));
        expect(conda.includes('wannier90')).toBe(codes.has('wannier90'));
        expect(pip.includes('boltztrap2')).toBe(codes.has('boltztrap2'));
        expect(text.includes('VASP is licensed')).toBe(codes.has('vasp'));
        expect(text.includes('CRYSTAL23 is licensed')).toBe(codes.has('crystal23'));
        expect(text).toContain(`crystalmath ${packageVersion}: the crystalmath command`);
      });

      it('extensions.json: the CrystalMath version and one entry per function node', () => {
        const ext = PwdExtensionsSchema.parse(JSON.parse(readFileSync(saved.files.extensions, 'utf8')));
        expect(ext.crystalmath_version).toBe(packageVersion);
        expect(Object.keys(ext.extensions)).toEqual(plan.steps.map((s) => `func_${s.name}`));
        for (const [i, step] of plan.steps.entries()) {
          expect(ext.extensions[`func_${step.name}`]).toMatchObject({ node_id: i, function: `workflow.${step.type}`, workflow_type: step.type, code: step.code });
        }
      });

      it('imports back from the directory and from its workflow.json to the identical plan', () => {
        expect(importFromPwd(dir).plan).toStrictEqual(plan);
        expect(importFromPwd(saved.files.workflow).plan).toStrictEqual(plan);
      });
    });
  }
});

describe('PWDConverter', () => {
  it('reads the CrystalMath version from package.json, or takes it', () => {
    expect(crystalmathVersion()).toBe(packageVersion);
    expect(new PWDConverter().crystalmathVersion).toBe(packageVersion);
    const [, ext] = new PWDConverter({ crystalmathVersion: '1.0.0' }).toPwdWithExtensions(PLANS.single!);
    expect(ext.crystalmath_version).toBe('1.0.0');
  });

  it('toPwd is exportToPwd; fromPwd is importFromPwd', () => {
    const c = new PWDConverter();
    const plan = PLANS['fan-out: bands and dos on scf']!;
    expect(c.toPwd(plan)).toStrictEqual(exportToPwd(plan));
    const [pwd, ext] = c.toPwdWithExtensions(plan);
    expect(c.fromPwd(pwd, { extensions: ext }).plan).toStrictEqual(plan);
    // parsed JSON without extensions: steps, but names by type and no resources / recovery
    expect(c.fromPwd(pwd).steps.map((s) => s.name)).toEqual(['scf', 'bands', 'dos']);
  });

  it('refuses a package name that is not one directory name', () => {
    for (const bad of ['../escape', 'a/b', '', '.hidden']) {
      expect(() => savePwd(PLANS.single!, tmp, bad)).toThrow(PwdValidationError);
    }
  });
});

describe('importFromPwd errors', () => {
  it('a path that does not exist, a directory without workflow.json, a file that is not JSON, an invalid workflow', () => {
    expect(() => importFromPwd(join(tmp, 'nope'))).toThrow(/no such PWD package directory or workflow JSON file/);
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(() => importFromPwd(empty)).toThrow(/a PWD package directory needs workflow\.json/);
    const bad = join(tmp, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'workflow.json'), '{"version": "0.1.0", "nodes": [');
    expect(() => importFromPwd(bad)).toThrow(/workflow\.json: not JSON/);
    writeFileSync(join(bad, 'workflow.json'), JSON.stringify({ version: '0.1.0', nodes: [], edges: [{ source: 0, target: 7, targetPort: 'x' }] }));
    expect(() => importFromPwd(bad)).toThrow(`invalid PWD workflow (${bad}): edges[0]: source 0 is not a node id; edges[0]: target 7 is not a node id`);
  });

  it('an extensions.json that does not belong to the workflow', () => {
    const a = savePwd(PLANS.phonon!, tmp, 'mismatch_a');
    const b = savePwd(PLANS['chain relax → scf → bands → dos']!, tmp, 'mismatch_b');
    writeFileSync(a.files.extensions, readFileSync(b.files.extensions));
    expect(() => importFromPwd(a.dir)).toThrow(/invalid extensions\.json \(.*mismatch_a\): extensions\.func_scf\.function: "workflow\.scf", but node 1 is "workflow\.phonon"/);
  });
});

describeShared('importFromPwd on the real PWD example directories', () => {
  it('quantum_espresso: six pw.x steps, the rest reported', () => {
    const r = importFromPwd(fixture('pwd', 'quantum_espresso'));
    expect(r.steps.map((s) => `${s.name}:${s.type}`)).toEqual(['relax:relax', 'scf_1:scf', 'scf_2:scf', 'scf_3:scf', 'scf_4:scf', 'scf_5:scf']);
    expect(r.unsupported.filter((u) => u.type === 'function').map((u) => u.value)).toEqual([
      'workflow.get_bulk_structure',
      'workflow.generate_structures',
      'workflow.plot_energy_volume_curve',
      'python_workflow_definition.shared.get_list',
      'python_workflow_definition.shared.get_list',
    ]);
  });

  it('arithmetic: nothing to import, everything reported', () => {
    const r = importFromPwd(fixture('pwd', 'arithmetic', 'workflow.json'));
    expect(r.steps).toEqual([]);
    expect(r.unsupported).toHaveLength(6);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// workflow.py run the way a PWD engine runs it, against a stand-in for the crystalmath CLI

/** A minimal PWD engine: the purepython loader's semantics (import module.function, kwargs from edges). */
const ENGINE = String.raw`
import importlib, json, sys
pkg = sys.argv[1]
sys.path.insert(0, pkg)
wf = json.load(open(pkg + "/workflow.json"))
nodes = {n["id"]: n for n in wf["nodes"]}
incoming = {}
for e in wf["edges"]:
    incoming.setdefault(e["target"], []).append(e)
shared = {"get_dict": lambda **kw: dict(kw), "get_list": lambda **kw: list(kw.values())}
results = {}
def value(e):
    src = nodes[e["source"]]
    v = src.get("value") if src["type"] == "input" else results[src["id"]]
    return v if e["sourcePort"] is None else v[e["sourcePort"]]
def ready(n):
    return all(nodes[e["source"]]["type"] == "input" or e["source"] in results for e in incoming.get(n["id"], []))
try:
    pending = [n for n in wf["nodes"] if n["type"] == "function"]
    while pending:
        n = next(n for n in pending if ready(n))
        module, name = n["value"].rsplit(".", 1)
        f = shared[name] if module == "python_workflow_definition.shared" else getattr(importlib.import_module(module), name)
        results[n["id"]] = f(**{e["targetPort"]: value(e) for e in incoming.get(n["id"], [])})
        pending.remove(n)
    out = next(n for n in wf["nodes"] if n["type"] == "output")
    print(json.dumps({"ok": True, "result": value(incoming[out["id"]][0])}))
except Exception as ex:
    print(json.dumps({"ok": False, "error": type(ex).__name__, "message": str(ex)}))
`;

/** Stands in for the crystalmath CLI: scf only (like the real one today), logs its arguments and the POSCAR it got. */
const FAKE_CLI = String.raw`#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
opt = {args[i]: args[i + 1] for i in range(1, len(args) - 1) if args[i].startswith("--") and not args[i + 1].startswith("--")}
poscar = open(opt["--structure"]).read() if os.path.exists(opt["--structure"]) else None
with open(os.environ["FAKE_CLI_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "poscar": poscar}) + "\n")
if opt.get("--analysis") != "scf":
    sys.stderr.write("--analysis %s: not supported yet (supported: scf)\n" % opt.get("--analysis"))
    sys.exit(2)
print(json.dumps({"ok": True, "calculation": "scf", "finalStructure": {"relaxed": False}, "outputs": {"totalEnergyRy": -15.8}}))
`;

describe('workflow.py under a PWD engine', () => {
  const bin = join(tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'crystalmath'), FAKE_CLI);
  chmodSync(join(bin, 'crystalmath'), 0o755);
  const engine = join(tmp, 'engine.py');
  writeFileSync(engine, ENGINE);

  const run = (plan: WorkflowPlan, name: string) => {
    const saved = savePwd(plan, tmp, name);
    const log = join(tmp, `${name}.log`);
    const r = runPython([engine, saved.dir], { PATH: `${bin}:${process.env.PATH ?? ''}`, FAKE_CLI_LOG: log });
    expect(r.stderr).toBe('');
    const calls = existsSync(log)
      ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { args: string[]; poscar: string | null })
      : [];
    return { out: JSON.parse(r.stdout) as { ok: boolean; result?: Record<string, unknown>; error?: string; message?: string }, calls };
  };

  itPython('an scf step runs through `crystalmath run`, with the structure written as a POSCAR CrystalMath reads back', () => {
    const { out, calls } = run(PLANS.single!, 'exec_scf');
    expect(out).toEqual({ ok: true, result: { ok: true, calculation: 'scf', finalStructure: { relaxed: false }, outputs: { totalEnergyRy: -15.8 }, structure: { relaxed: false } } });
    expect(calls).toHaveLength(1);
    const args = calls[0]!.args;
    expect(args.slice(0, 2)).toEqual(['run', '--structure']);
    expect(args.slice(3)).toEqual(['--analysis', 'scf', '--json', '--protocol', 'moderate']);
    const back = parseStructureText(calls[0]!.poscar!, 'POSCAR');
    expect(back.lattice).toEqual(SI.lattice);
    expect(back.sites.map((s) => [s.species, s.frac])).toEqual(SI.sites.map((s) => [s.species, s.frac]));
  });

  itPython('selective dynamics and several species survive the POSCAR', () => {
    const plan = WorkflowPlanSchema.parse({ structure: MOS2, protocol: 'fast', steps: [{ name: 'scf', type: 'scf', code: 'quantum_espresso' }] });
    const { out, calls } = run(plan, 'exec_mos2');
    expect(out.ok).toBe(true);
    expect(calls[0]!.args).toContain('fast');
    const back = parseStructureText(calls[0]!.poscar!, 'POSCAR');
    expect(back.sites.map((s) => s.species)).toEqual(['Mo', 'S', 'S']);
    back.sites.forEach((s, i) => s.frac.forEach((x, k) => expect(x).toBeCloseTo(MOS2.sites[i]!.frac[k]!, 12)));
    expect(back.sites[1]!.moves).toEqual([false, false, true]);
  });

  itPython('a step the CLI cannot express raises NotImplementedError before anything runs, saying why', () => {
    const { out, calls } = run(PLANS['chain relax → scf → bands → dos']!, 'exec_chain');
    expect(out.error).toBe('NotImplementedError');
    expect(out.message).toBe(
      "CrystalMath step 'relax' cannot run on its own through the crystalmath CLI: parameters ['force_threshold']: the crystalmath CLI " +
        'takes no per-step parameters. Run the whole workflow in CrystalMath instead (import this PWD package and run the plan).',
    );
    expect(calls).toEqual([]);
    const vasp = run(WorkflowPlanSchema.parse({ structure: SI, steps: [{ name: 'scf', type: 'scf', code: 'vasp' }] }), 'exec_vasp');
    expect(vasp.out.message).toContain("code 'vasp': the crystalmath CLI runs Quantum ESPRESSO (quantum_espresso) only");
  });

  itPython("an analysis the CLI refuses raises NotImplementedError with the CLI's message; a later step names its parents", () => {
    const plan = WorkflowPlanSchema.parse({
      structure: SI,
      steps: [
        { name: 'relax', type: 'relax', code: 'quantum_espresso' },
        { name: 'scf', type: 'scf', code: 'quantum_espresso', dependsOn: ['relax'] },
      ],
    });
    const { out, calls } = run(plan, 'exec_refused');
    expect(out).toEqual({
      ok: false,
      error: 'NotImplementedError',
      message: "crystalmath run refused step 'relax': --analysis relax: not supported yet (supported: scf)",
    });
    expect(calls).toHaveLength(1);
    const scfOnly = WorkflowPlanSchema.parse({
      structure: SI,
      steps: [
        { name: 'scf', type: 'scf', code: 'quantum_espresso' },
        { name: 'dos', type: 'dos', code: 'quantum_espresso', dependsOn: ['scf'] },
      ],
    });
    const second = run(scfOnly, 'exec_parents');
    expect(second.calls).toHaveLength(1); // scf ran
    expect(second.out.message).toContain("parents ['scf']: the crystalmath CLI cannot start from the results of other steps");
  });
});
