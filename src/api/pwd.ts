/**
 * PWD interoperability with files: the seed's `export_to_pwd`, `PWDConverter` (`to_pwd_with_extensions`,
 * `save_pwd`) and `import_from_pwd`. The mapping itself is pure (src/domain/pwd); this module adds the
 * CrystalMath version (package.json) and reads / writes PWD packages:
 *
 *   <dir>/<name>/workflow.json    the PWD workflow (format 0.1.0)
 *   <dir>/<name>/workflow.py      the functions workflow.json names (workflow.<step type>)
 *   <dir>/<name>/environment.yml  a conda environment for them
 *   <dir>/<name>/extensions.json  what PWD cannot hold (step names, resources, recovery, plan settings)
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  exportToPwd as exportToPwdPure,
  importPwd,
  normalizeStepsOrPlan,
  PwdValidationError,
  renderEnvironmentYml,
  renderWorkflowPy,
  toPwdWithExtensions as toPwdWithExtensionsPure,
} from '../domain/pwd/index.ts';
import type { PwdExtensions, PwdImport, PwdWorkflow, StepsOrPlan } from '../domain/pwd/index.ts';

export type { PwdExtensions, PwdImport, PwdWorkflow, StepsOrPlan, UnsupportedNode } from '../domain/pwd/index.ts';
export { PwdValidationError, validatePwd, PWD_VERSION } from '../domain/pwd/index.ts';

/** The files of a PWD package, by role. */
export const PWD_FILES = {
  workflow: 'workflow.json',
  python: 'workflow.py',
  environment: 'environment.yml',
  extensions: 'extensions.json',
} as const;

export interface SavedPwd {
  /** `<dir>/<name>` */
  dir: string;
  files: { workflow: string; python: string; environment: string; extensions: string };
}

let cachedVersion: string | undefined;

/** CrystalMath's version, from package.json. */
export function crystalmathVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    if (typeof pkg.version !== 'string' || pkg.version === '') throw new Error('package.json has no version');
    cachedVersion = pkg.version;
  }
  return cachedVersion;
}

/** The seed's `export_to_pwd`: the PWD workflow of a plan or of bare steps. */
export function exportToPwd(stepsOrPlan: StepsOrPlan): PwdWorkflow {
  return exportToPwdPure(stepsOrPlan);
}

/** The seed's `PWDConverter`. */
export class PWDConverter {
  readonly crystalmathVersion: string;

  constructor(opts: { crystalmathVersion?: string } = {}) {
    this.crystalmathVersion = opts.crystalmathVersion ?? crystalmathVersion();
  }

  toPwd(stepsOrPlan: StepsOrPlan): PwdWorkflow {
    return exportToPwdPure(stepsOrPlan);
  }

  /** `[workflow.json, extensions.json]` contents. */
  toPwdWithExtensions(stepsOrPlan: StepsOrPlan): [PwdWorkflow, PwdExtensions] {
    return toPwdWithExtensionsPure(stepsOrPlan, { crystalmathVersion: this.crystalmathVersion });
  }

  /** Write `<dir>/<name>/{workflow.json, workflow.py, environment.yml, extensions.json}` (files are overwritten). */
  savePwd(stepsOrPlan: StepsOrPlan, dir: string, name: string): SavedPwd {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
      throw new PwdValidationError([`name "${name}": must be one directory name (letters, digits, . _ -, not starting with . _ or -)`], 'cannot save PWD package');
    }
    const { steps } = normalizeStepsOrPlan(stepsOrPlan);
    const [pwd, extensions] = this.toPwdWithExtensions(stepsOrPlan);
    const out = join(dir, name);
    mkdirSync(out, { recursive: true });
    const files = {
      workflow: join(out, PWD_FILES.workflow),
      python: join(out, PWD_FILES.python),
      environment: join(out, PWD_FILES.environment),
      extensions: join(out, PWD_FILES.extensions),
    };
    const render = { name, crystalmathVersion: this.crystalmathVersion };
    writeFileSync(files.workflow, JSON.stringify(pwd, null, 2) + '\n');
    writeFileSync(files.python, renderWorkflowPy(steps, render));
    writeFileSync(files.environment, renderEnvironmentYml(steps, render));
    writeFileSync(files.extensions, JSON.stringify(extensions, null, 2) + '\n');
    return { dir: out, files };
  }

  fromPwd(dirOrJson: string | object, opts: ImportOptions = {}): PwdImport {
    return importFromPwd(dirOrJson, opts);
  }
}

/** `new PWDConverter().savePwd(...)`. */
export function savePwd(stepsOrPlan: StepsOrPlan, dir: string, name: string, opts: { crystalmathVersion?: string } = {}): SavedPwd {
  return new PWDConverter(opts).savePwd(stepsOrPlan, dir, name);
}

export interface ImportOptions {
  /** Parsed extensions.json; for a directory (or a workflow.json path) the extensions.json beside it is read. */
  extensions?: unknown;
}

/**
 * The seed's `import_from_pwd`: from a PWD package directory, a workflow JSON file, or parsed JSON. Returns the
 * steps, the nodes that did not map (with reasons), and the structure / whole plan when the workflow holds them.
 */
export function importFromPwd(dirOrJson: string | object, opts: ImportOptions = {}): PwdImport {
  if (typeof dirOrJson !== 'string') return importPwd(dirOrJson, opts.extensions);
  const path = dirOrJson;
  if (!existsSync(path)) throw new Error(`${path}: no such PWD package directory or workflow JSON file`);
  const workflowFile = statSync(path).isDirectory() ? join(path, PWD_FILES.workflow) : path;
  if (!existsSync(workflowFile)) throw new Error(`${path}: a PWD package directory needs ${PWD_FILES.workflow}`);
  const extensionsFile = join(dirname(workflowFile), PWD_FILES.extensions);
  const readExtensions = opts.extensions === undefined && basename(workflowFile) === PWD_FILES.workflow && existsSync(extensionsFile);
  const workflow = readJson(workflowFile);
  const extensions = readExtensions ? readJson(extensionsFile) : opts.extensions;
  try {
    return importPwd(workflow, extensions);
  } catch (e) {
    if (e instanceof PwdValidationError) throw new PwdValidationError(e.issues, `${e.what} (${path})`);
    throw e;
  }
}

function readJson(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new PwdValidationError([`${file}: not JSON (${(e as Error).message})`], 'cannot read PWD package');
  }
}
