/**
 * The Python side of a PWD package: `workflow.py` (the functions workflow.json names) and `environment.yml`.
 * Pure: returns text.
 *
 * What the functions do (decided here, documented in docs/PWD.md): each calls the crystalmath CLI,
 * `crystalmath run --structure <file> --analysis <step type> --protocol <level> --json`, which runs one
 * analysis of one structure with Quantum ESPRESSO. A step the CLI cannot express raises NotImplementedError
 * before anything runs, saying why: another code than quantum_espresso, per-step parameters, or results of parent
 * steps to start from (the CLI has no flags for them); an analysis the CLI refuses (exit 2, e.g. "--analysis
 * relax: not supported yet") raises NotImplementedError with the CLI's message. So a PWD engine can run what the
 * CLI can run and learns precisely why it cannot run the rest; the whole plan runs in CrystalMath
 * (import the package and start the plan).
 */
import type { StepType } from '../calculation-types.ts';
import type { CodeName } from '../codes/catalog.ts';
import type { WorkflowStep } from '../plan/plan.ts';
import { STEP_FUNCTION_PORTS } from './export.ts';

export interface PythonRenderOptions {
  /** The package name (the directory savePwd creates). */
  name: string;
  crystalmathVersion: string;
}

/** The step types used, in order of first use: one Python function each. */
export function stepTypesUsed(steps: readonly Pick<WorkflowStep, 'type'>[]): StepType[] {
  return [...new Set(steps.map((s) => s.type))];
}

/** `def relax(structure, code, parameters, protocol, parents=None):` */
export function stepFunctionSignature(type: StepType): string {
  const args = STEP_FUNCTION_PORTS.map((p) => (p === 'parents' ? 'parents=None' : p));
  return `def ${type}(${args.join(', ')}):`;
}

const pyString = (s: string) => JSON.stringify(s);

export function renderWorkflowPy(steps: readonly WorkflowStep[], opts: PythonRenderOptions): string {
  const functions = stepTypesUsed(steps).map((type) => {
    const users = steps.filter((s) => s.type === type).map((s) => s.name);
    return [
      stepFunctionSignature(type),
      `    """CrystalMath step type ${pyString(type)} (in this workflow: ${users.join(', ')}). See the module docstring."""`,
      `    return _run_step(${pyString(type)}, structure, code, parameters, protocol, parents)`,
    ].join('\n');
  });
  return `"""Functions of the PWD workflow ${pyString(opts.name)}, exported by CrystalMath ${opts.crystalmathVersion}.

workflow.json names them "workflow.<step type>"; a Python Workflow Definition engine (the purepython,
executorlib, jobflow, aiida-workgraph or pyiron loaders of python_workflow_definition) imports this module
and calls each with keyword arguments taken from the edges:

    structure   the structure: for the first steps the "structure" input (CrystalMath's JSON form: "lattice"
                rows in Angstrom, "sites" with "species" and fractional "frac"), or a built-in name / a
                CIF or POSCAR path; for later steps the "structure" output of the first parent step
    code        the code of the step: ${pyString('quantum_espresso')}, ${pyString('vasp')}, ${pyString('yambo')}, ...
    parameters  the step's code parameters (dict, CrystalMath's names)
    protocol    the protocol level: fast, moderate or precise
    parents     the results of the steps this one depends on, by step name (None for the first steps)

Each returns a dict with at least "structure", the structure the step ended with.

What runs: the crystalmath CLI ("crystalmath run --structure FILE --analysis TYPE --protocol LEVEL --json"),
which runs one analysis of one structure with Quantum ESPRESSO (pw.x). A step that CLI cannot express raises
NotImplementedError before anything runs, with the reason: another code, per-step parameters, or parent results
to start from (the CLI has no flags for them). An analysis the CLI refuses (exit status 2, e.g. an analysis it
does not support yet) raises NotImplementedError with the CLI's own message. To run the whole workflow, with
its dependencies, resources and error recovery (extensions.json), import this package into CrystalMath
(importFromPwd) and run the plan there.
"""

import json
import os
import shutil
import subprocess
import tempfile


${functions.join('\n\n\n')}


def _run_step(step_type, structure, code, parameters, protocol, parents):
    problems = []
    if code != "quantum_espresso":
        problems.append("code %r: the crystalmath CLI runs Quantum ESPRESSO (quantum_espresso) only" % (code,))
    if parameters:
        problems.append("parameters %s: the crystalmath CLI takes no per-step parameters" % (sorted(parameters),))
    if parents:
        problems.append("parents %s: the crystalmath CLI cannot start from the results of other steps" % (sorted(parents),))
    if problems:
        raise NotImplementedError(
            "CrystalMath step %r cannot run on its own through the crystalmath CLI: %s. "
            "Run the whole workflow in CrystalMath instead (import this PWD package and run the plan)."
            % (step_type, "; ".join(problems))
        )
    executable = shutil.which("crystalmath")
    if executable is None:
        raise RuntimeError("the crystalmath command is not on PATH (see environment.yml: CrystalMath ${opts.crystalmathVersion})")
    with tempfile.TemporaryDirectory(prefix="crystalmath-pwd-") as tmp:
        command = [executable, "run", "--structure", _structure_argument(structure, tmp), "--analysis", step_type, "--json"]
        if protocol:
            command += ["--protocol", protocol]
        proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode == 2:
        raise NotImplementedError("crystalmath run refused step %r: %s" % (step_type, proc.stderr.strip()))
    if proc.returncode != 0:
        raise RuntimeError("crystalmath run failed for step %r (exit status %d): %s" % (step_type, proc.returncode, proc.stderr.strip()))
    result = json.loads(proc.stdout)
    result["structure"] = result.get("finalStructure", structure)
    return result


def _structure_argument(structure, directory):
    """A built-in name or file path as given; a CrystalMath structure (dict) written as a POSCAR file."""
    if isinstance(structure, str):
        return structure
    if not isinstance(structure, dict) or "lattice" not in structure or "sites" not in structure:
        raise ValueError("structure must be a CrystalMath structure (dict with lattice and sites), a built-in name or a file path")
    path = os.path.join(directory, "POSCAR")
    with open(path, "w") as handle:
        handle.write(_poscar(structure))
    return path


def _poscar(structure):
    """VASP 5 POSCAR, Direct coordinates, species grouped in order of first appearance (as CrystalMath writes it)."""
    order = []
    for site in structure["sites"]:
        if site["species"] not in order:
            order.append(site["species"])
    groups = [[s for s in structure["sites"] if s["species"] == element] for element in order]
    selective = any("moves" in s for s in structure["sites"])
    title = " ".join(str(structure.get("title") or "").split()) or " ".join(order)
    lines = [title, "1.0"]
    lines += [" ".join(repr(float(x)) for x in row) for row in structure["lattice"]]
    lines += [" ".join(order), " ".join(str(len(g)) for g in groups)]
    if selective:
        lines.append("Selective dynamics")
    lines.append("Direct")
    for group in groups:
        for site in group:
            line = " ".join(repr(float(x)) for x in site["frac"])
            if selective:
                line += "  " + " ".join("T" if m else "F" for m in site.get("moves", [True, True, True]))
            lines.append(line)
    return "\\n".join(lines) + "\\n"
`;
}

/** Conda-forge packages of the codes (null: not on conda-forge, with the reason). */
const CODE_PACKAGES: Record<CodeName, { conda?: string; pip?: string; note?: string }> = {
  quantum_espresso: { conda: 'qe', note: 'pw.x and the QE post-processing tools' },
  yambo: { conda: 'yambo', note: 'GW / BSE' },
  wannier90: { conda: 'wannier90' },
  phonopy: { conda: 'phonopy' },
  boltztrap2: { pip: 'boltztrap2' },
  vasp: { note: 'VASP is licensed software: not on conda-forge; make vasp_std available on the cluster' },
  crystal23: { note: 'CRYSTAL23 is licensed software: not on conda-forge; make crystal / Pcrystal available on the cluster' },
};

/** A conda environment for the functions of workflow.py and the codes the steps use. */
export function renderEnvironmentYml(steps: readonly WorkflowStep[], opts: PythonRenderOptions): string {
  const codes = [...new Set(steps.map((s) => s.code))];
  const conda: string[] = [];
  const pip: string[] = ['  - python-workflow-definition>=0.1  # python_workflow_definition.shared.get_dict, used by workflow.json'];
  const notes: string[] = [];
  for (const code of codes) {
    const p = CODE_PACKAGES[code];
    if (p.conda) conda.push(`- ${p.conda}${' '.repeat(Math.max(1, 18 - p.conda.length))}# ${code}${p.note ? `: ${p.note}` : ''}`);
    if (p.pip) pip.push(`  - ${p.pip}  # ${code}`);
    if (!p.conda && !p.pip && p.note) notes.push(`#   ${code}: ${p.note}`);
  }
  const envName = opts.name.replace(/[^A-Za-z0-9._-]/g, '_');
  return [
    `# Conda environment for the PWD workflow "${opts.name}", exported by CrystalMath ${opts.crystalmathVersion}.`,
    '# workflow.py needs only the Python standard library and the crystalmath command on PATH.',
    `name: ${envName}`,
    'channels:',
    '- conda-forge',
    'dependencies:',
    '- python>=3.10',
    '- nodejs>=20          # runs the crystalmath CLI that workflow.py calls',
    ...conda,
    '- pip',
    '- pip:',
    ...pip,
    '# Not installable from here:',
    `#   crystalmath ${opts.crystalmathVersion}: the crystalmath command (Node.js); from a CrystalMath checkout,`,
    '#     `npm install --global <checkout>` puts it on PATH (package.json "bin"); check with `crystalmath --help`',
    ...notes,
    '',
  ].join('\n');
}
