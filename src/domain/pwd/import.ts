/**
 * PWD workflow (+ optional CrystalMath extensions) → WorkflowSteps, and a precise list of what did not map.
 * Pure and deterministic (see docs/PWD.md for the mapping table).
 *
 * - A function node becomes a step when its function name (after the last period, any module) is a CrystalMath
 *   step type (`workflow.relax`, `crystalmath_workflow.scf`, ...), or when it is a function CrystalMath recognises
 *   from another engine's published example: `calculate_qe` of the PWD Quantum ESPRESSO energy–volume example
 *   (one pw.x run; its `calculation` input decides relax / scf / nscf / bands).
 * - `python_workflow_definition.shared.get_dict` / `get_list` are PWD plumbing: looked through.
 * - Inputs become step parameters under the argument name they feed (`parameters` of a CrystalMath function is
 *   merged in as is; `code` and `protocol` set the step's code and protocol; a `structure` input holding a
 *   CrystalMath structure becomes the plan's structure). A get_dict of inputs becomes a nested object.
 * - Edges from one step's output to another become `dependsOn`; an edge through a node that is not imported
 *   keeps the order: the step depends on the steps upstream of that node.
 * - Everything else is reported in `unsupported`, one entry per node, never dropped silently: function nodes
 *   with no CrystalMath step, and the input / helper / output nodes that only reach them.
 */
import { STEP_TYPES, type StepType } from '../calculation-types.ts';
import { CODE_NAMES, type CodeName } from '../codes/catalog.ts';
import { WorkflowPlanSchema, WorkflowStepSchema } from '../plan/plan.ts';
import type { WorkflowPlan, WorkflowStep } from '../plan/plan.ts';
import { PROTOCOL_NAMES, type ProtocolName } from '../protocols.ts';
import { StructureSchema } from '../structure/schema.ts';
import type { Structure } from '../structure/structure.ts';
import { extensionKey, PwdExtensionsSchema, resourcesFromPwd } from './extensions.ts';
import type { PwdExtensions, PwdFunctionExtension } from './extensions.ts';
import { formatPwdIssues, PWD_GET_DICT, PWD_GET_LIST, PWD_SHARED_MODULE, PwdValidationError, validatePwd } from './format.ts';
import type { JsonValue, PwdEdge, PwdNode, PwdWorkflow } from './format.ts';

export interface UnsupportedNode {
  nodeId: number;
  type: PwdNode['type'];
  /** A function's "module.function", an input's value, an output's name. */
  value: JsonValue;
  reason: string;
}

export interface PwdImport {
  /** The PWD format version of the workflow. */
  version: string;
  /** The steps, in node order, valid WorkflowSteps. */
  steps: WorkflowStep[];
  /** Every node that is not part of a step, with the reason. */
  unsupported: UnsupportedNode[];
  /** The PWD function node of each step, by step name. */
  nodeIds: Record<string, number>;
  /** The structure, when a `structure` input holds a CrystalMath structure. */
  structure?: Structure;
  /** The whole plan, when the structure is known (plan settings from the extensions, else the defaults). */
  plan?: WorkflowPlan;
}

/** The code a step type runs with when the PWD does not say (the CrystalMath default for that kind of step). */
export const DEFAULT_CODE: Record<StepType, CodeName> = {
  relax: 'quantum_espresso',
  scf: 'quantum_espresso',
  nscf: 'quantum_espresso',
  bands: 'quantum_espresso',
  dos: 'quantum_espresso',
  elastic: 'quantum_espresso',
  gw: 'yambo',
  bse: 'yambo',
  phonon: 'phonopy',
  transport: 'boltztrap2',
  wannier: 'wannier90',
};

/** pw.x `calculation` values (calculate_qe's input) and the step they are. */
const PW_CALCULATION_STEP: Record<string, StepType> = { scf: 'scf', relax: 'relax', 'vc-relax': 'relax', nscf: 'nscf', bands: 'bands' };

/** Functions of other engines' published PWD examples that are recognisably not CrystalMath steps, and why. */
const KNOWN_UNSUPPORTED: Record<string, string> = {
  get_bulk_structure:
    'builds the starting structure with ASE (bulk(element, a, cubic)); a CrystalMath plan takes its structure at plan level ' +
    '(WorkflowPlan.structure: a built-in name, a CIF / POSCAR file or a Materials Project id), not from a step',
  generate_structures:
    'makes strained copies of a structure (strain_lst) for an energy–volume scan; CrystalMath has no structure-transformation ' +
    'step, and a plan runs on one structure',
  plot_energy_volume_curve: 'post-processing (plots E(V) with matplotlib); CrystalMath has no plotting or fitting step',
};

/** A node's result as seen from an edge: a constant, PWD plumbing around other sources, or a function's output. */
type Source =
  | { kind: 'value'; value: JsonValue }
  | { kind: 'dict'; entries: [string, Source][] }
  | { kind: 'list'; items: Source[] }
  | { kind: 'fn'; node: number; port: string | null };

type Mapping =
  | { kind: 'step'; type: StepType; code?: CodeName; protocol?: ProtocolName; parameters: Record<string, unknown>; structure?: Structure; refs: number[] }
  | { kind: 'unsupported'; why: string };

const isRecord = (v: unknown): v is Record<string, JsonValue> => v !== null && typeof v === 'object' && !Array.isArray(v);
const functionName = (value: string) => value.slice(value.lastIndexOf('.') + 1);
const isHelper = (n: PwdNode) => n.type === 'function' && (n.value === PWD_GET_DICT || n.value === PWD_GET_LIST);

/**
 * Import a PWD workflow (parsed JSON). `extensions` (parsed extensions.json) restores what PWD cannot hold:
 * step names, resources, recovery, inherited protocol, plan settings. Throws PwdValidationError on invalid input.
 */
export function importPwd(json: unknown, extensions?: unknown): PwdImport {
  const wf = validatePwd(json);
  const g = new Graph(wf);
  const ext = extensions === undefined ? undefined : validateExtensions(extensions, wf);
  const extByNode = new Map<number, PwdFunctionExtension>(Object.values(ext?.extensions ?? {}).map((e) => [e.node_id, e]));

  // 1. Map every function node that is not plumbing.
  const mappings = new Map<number, Mapping>();
  for (const node of wf.nodes) if (node.type === 'function' && !isHelper(node)) mappings.set(node.id, g.map(node));
  const isStep = (id: number) => mappings.get(id)?.kind === 'step';

  // 2. Names: the extensions' where given, else the step type (numbered when a type occurs more than once).
  const stepIds = wf.nodes.filter((n) => isStep(n.id)).map((n) => n.id);
  const names = new Map<number, string>();
  for (const id of stepIds) {
    const e = extByNode.get(id);
    if (e) names.set(id, e.step_name);
  }
  const byType = new Map<StepType, number[]>();
  for (const id of stepIds) {
    if (names.has(id)) continue;
    const m = mappings.get(id) as Extract<Mapping, { kind: 'step' }>;
    byType.set(m.type, [...(byType.get(m.type) ?? []), id]);
  }
  const taken = new Set(names.values());
  for (const [type, ids] of byType) {
    ids.forEach((id, i) => {
      let name = ids.length === 1 ? type : `${type}_${i + 1}`;
      for (let k = 2; taken.has(name); k++) name = `${ids.length === 1 ? type : `${type}_${i + 1}`}_${k}`;
      taken.add(name);
      names.set(id, name);
    });
  }

  // 3. Dependencies: step outputs directly, or the steps upstream of a node that is not imported.
  const dependsOn = (id: number): string[] => {
    const m = mappings.get(id) as Extract<Mapping, { kind: 'step' }>;
    const deps: string[] = [];
    for (const ref of m.refs) {
      for (const s of isStep(ref) ? [ref] : g.upstreamOf(ref, isStep)) {
        const name = names.get(s)!;
        if (s !== id && !deps.includes(name)) deps.push(name);
      }
    }
    return deps;
  };

  // 4. Steps.
  let structure: Structure | undefined;
  const steps: WorkflowStep[] = [];
  const nodeIds: Record<string, number> = {};
  for (const id of stepIds) {
    const m = mappings.get(id) as Extract<Mapping, { kind: 'step' }>;
    const e = extByNode.get(id);
    const parameters = { ...m.parameters };
    if (m.structure) {
      if (!structure) structure = m.structure;
      else if (JSON.stringify(structure) !== JSON.stringify(m.structure)) parameters.structure = m.structure;
    }
    let protocol = m.protocol;
    if (e?.protocol_inherited && (ext?.plan ? ext.plan.protocol_level === protocol : protocol === undefined)) protocol = undefined;
    const recovery = e && !e.recovery_inherited && e.error_recovery !== null ? { strategy: e.error_recovery, maxAttempts: e.max_attempts ?? 5 } : undefined;
    const resources = e ? resourcesFromPwd(e.resources) : undefined;
    const name = names.get(id)!;
    nodeIds[name] = id;
    steps.push(
      WorkflowStepSchema.parse({
        name,
        type: m.type,
        code: m.code ?? e?.code ?? DEFAULT_CODE[m.type],
        parameters,
        dependsOn: dependsOn(id),
        ...(resources ? { resources } : {}),
        ...(protocol ? { protocol } : {}),
        ...(recovery ? { recovery } : {}),
      }),
    );
  }

  // 5. Everything else, accounted for.
  const unsupported = g.unsupported(mappings, names);

  const result: PwdImport = { version: wf.version, steps, unsupported, nodeIds };
  if (structure) {
    result.structure = structure;
    if (steps.length > 0) {
      const p = ext?.plan;
      result.plan = WorkflowPlanSchema.parse({
        version: 1,
        ...(p?.name !== undefined ? { name: p.name } : {}),
        structure,
        ...(p?.structure_source !== undefined ? { structureSource: p.structure_source } : {}),
        ...(p ? { protocol: p.protocol_level, cluster: p.cluster, recovery: { strategy: p.error_recovery, maxAttempts: p.max_attempts } } : {}),
        ...(p?.output_dir !== undefined ? { outputDir: p.output_dir } : {}),
        ...(p?.magnetism !== undefined ? { magnetism: p.magnetism } : {}),
        steps,
      });
    }
  }
  return result;
}

/** Validate extensions.json against the schema and against the workflow it belongs to. */
export function validateExtensions(raw: unknown, wf: PwdWorkflow): PwdExtensions {
  const parsed = PwdExtensionsSchema.safeParse(raw);
  if (!parsed.success) throw new PwdValidationError(formatPwdIssues(parsed.error, raw), 'invalid extensions.json');
  const ext = parsed.data;
  const issues: string[] = [];
  const nodes = new Map(wf.nodes.map((n) => [n.id, n]));
  const seenNodes = new Map<number, string>();
  const seenNames = new Map<string, string>();
  for (const [key, e] of Object.entries(ext.extensions)) {
    const at = `extensions.${key}`;
    if (key !== extensionKey(e.step_name)) issues.push(`${at}: key does not match step_name "${e.step_name}" (expected ${extensionKey(e.step_name)})`);
    if (!WorkflowStepSchema.shape.name.safeParse(e.step_name).success) issues.push(`${at}.step_name: "${e.step_name}" is not a valid step name`);
    const node = nodes.get(e.node_id);
    if (!node) issues.push(`${at}.node_id: ${e.node_id} is not a node id of the workflow`);
    else if (node.type !== 'function') issues.push(`${at}.node_id: node ${e.node_id} is an ${node.type} node, not a function`);
    else if (node.value !== e.function) issues.push(`${at}.function: "${e.function}", but node ${e.node_id} is "${node.value}"`);
    const otherNode = seenNodes.get(e.node_id);
    if (otherNode) issues.push(`${at}.node_id: node ${e.node_id} is already described by extensions.${otherNode}`);
    seenNodes.set(e.node_id, key);
    const otherName = seenNames.get(e.step_name);
    if (otherName) issues.push(`${at}.step_name: "${e.step_name}" is already used by extensions.${otherName}`);
    seenNames.set(e.step_name, key);
  }
  if (issues.length > 0) throw new PwdValidationError(issues, 'invalid extensions.json');
  return ext;
}

class Graph {
  private readonly nodes = new Map<number, PwdNode>();
  private readonly incoming = new Map<number, PwdEdge[]>();
  private readonly outgoing = new Map<number, PwdEdge[]>();

  constructor(private readonly wf: PwdWorkflow) {
    for (const n of wf.nodes) this.nodes.set(n.id, n);
    for (const e of wf.edges) {
      this.incoming.set(e.target, [...(this.incoming.get(e.target) ?? []), e]);
      this.outgoing.set(e.source, [...(this.outgoing.get(e.source) ?? []), e]);
    }
  }

  node(id: number): PwdNode {
    return this.nodes.get(id)!;
  }

  label(id: number): string {
    const n = this.node(id);
    return n.type === 'function' ? `node ${id} (${n.value})` : `${n.type} node ${id} ("${n.name}")`;
  }

  /** What flows along an edge (validated graph: no cycles, so this terminates). */
  source(e: PwdEdge): Source {
    const n = this.node(e.source);
    if (n.type === 'input') {
      if (e.sourcePort === null) return { kind: 'value', value: n.value };
      return { kind: 'value', value: isRecord(n.value) ? (n.value[e.sourcePort] ?? null) : null };
    }
    if (n.type === 'function' && isHelper(n)) {
      const parts = (this.incoming.get(n.id) ?? []).map((inc) => [inc.targetPort ?? '', this.source(inc)] as [string, Source]);
      if (n.value === PWD_GET_DICT) {
        if (e.sourcePort === null) return { kind: 'dict', entries: parts };
        return parts.find(([k]) => k === e.sourcePort)?.[1] ?? { kind: 'value', value: null };
      }
      if (e.sourcePort === null) return { kind: 'list', items: parts.map(([, s]) => s) };
      return parts[Number(e.sourcePort)]?.[1] ?? { kind: 'value', value: null };
    }
    return { kind: 'fn', node: n.id, port: e.sourcePort };
  }

  /** The function nodes (not plumbing) a source draws on. */
  refs(s: Source): number[] {
    if (s.kind === 'fn') return [s.node];
    if (s.kind === 'dict') return s.entries.flatMap(([, x]) => this.refs(x));
    if (s.kind === 'list') return s.items.flatMap((x) => this.refs(x));
    return [];
  }

  /** The constant part of a source: a dict keeps its constant entries, a list must be wholly constant. */
  constant(s: Source): JsonValue | undefined {
    if (s.kind === 'value') return s.value;
    if (s.kind === 'fn') return undefined;
    if (s.kind === 'list') {
      const items = s.items.map((x) => this.constant(x));
      return items.every((x) => x !== undefined) ? (items as JsonValue[]) : undefined;
    }
    const entries = s.entries.map(([k, x]) => [k, this.constant(x)] as const).filter(([, v]) => v !== undefined);
    if (entries.length === 0 && s.entries.length > 0) return undefined;
    return Object.fromEntries(entries) as JsonValue;
  }

  /** How one function node maps (step type, code, parameters, ...) or why it does not. */
  map(node: Extract<PwdNode, { type: 'function' }>): Mapping {
    const fn = functionName(node.value);
    if (KNOWN_UNSUPPORTED[fn]) return { kind: 'unsupported', why: `${node.value}: ${KNOWN_UNSUPPORTED[fn]}` };
    const ours = (STEP_TYPES as readonly string[]).includes(fn);
    if (!ours && fn !== 'calculate_qe') {
      const why = node.value.startsWith(`${PWD_SHARED_MODULE}.`)
        ? `${node.value}: a PWD helper CrystalMath does not look through (only get_dict and get_list)`
        : `${node.value}: no CrystalMath step of that name (step types: ${STEP_TYPES.join(', ')}; recognised from other engines: calculate_qe of the PWD Quantum ESPRESSO example)`;
      return { kind: 'unsupported', why };
    }
    const ports = (this.incoming.get(node.id) ?? []).map((e) => [e.targetPort!, this.source(e)] as const);
    // `parents` first: its get_dict lists the dependencies in order.
    ports.sort((a, b) => Number(b[0] === 'parents') - Number(a[0] === 'parents'));
    const parameters: Record<string, unknown> = {};
    const refs: number[] = [];
    let code: CodeName | undefined;
    let protocol: ProtocolName | undefined;
    let structure: Structure | undefined;
    for (const [port, src] of ports) {
      refs.push(...this.refs(src));
      const value = this.constant(src);
      if (ours && port === 'parents') continue;
      if (ours && (port === 'code' || port === 'protocol') && src.kind !== 'value') {
        return { kind: 'unsupported', why: `${node.value}: its ${port} comes from ${this.refs(src).map((r) => this.label(r)).join(', ') || 'PWD plumbing'}, not from an input` };
      }
      if (ours && port === 'code' && src.kind === 'value') {
        if (!(CODE_NAMES as readonly string[]).includes(String(value))) {
          return { kind: 'unsupported', why: `${node.value}: code ${JSON.stringify(value)} is not one CrystalMath runs (${CODE_NAMES.join(', ')})` };
        }
        code = value as CodeName;
        continue;
      }
      if (ours && port === 'protocol' && src.kind === 'value') {
        if (value === null) continue;
        if (!(PROTOCOL_NAMES as readonly string[]).includes(String(value))) {
          return { kind: 'unsupported', why: `${node.value}: protocol ${JSON.stringify(value)} is not one of ${PROTOCOL_NAMES.join(', ')}` };
        }
        protocol = value as ProtocolName;
        continue;
      }
      if (ours && port === 'parameters') {
        if (value === null || value === undefined) continue;
        if (!isRecord(value)) return { kind: 'unsupported', why: `${node.value}: parameters must be a JSON object, got ${JSON.stringify(value)}` };
        Object.assign(parameters, value);
        continue;
      }
      if (port === 'structure' && src.kind === 'value') {
        if (value === null) continue;
        const s = StructureSchema.safeParse(value);
        if (s.success) {
          structure = s.data;
          continue;
        }
      }
      if (value !== undefined) parameters[port] = value;
    }
    let type: StepType;
    if (ours) type = fn as StepType;
    else {
      // calculate_qe(working_directory, input_dict): pw.x with input_dict.calculation (pw.x's default: scf).
      const inputDict = parameters.input_dict;
      const calc = (isRecord(inputDict) ? inputDict.calculation : undefined) ?? parameters.calculation ?? 'scf';
      const mapped = typeof calc === 'string' ? PW_CALCULATION_STEP[calc] : undefined;
      if (!mapped) {
        return {
          kind: 'unsupported',
          why: `${node.value}: pw.x calculation ${JSON.stringify(calc)} has no CrystalMath step (mapped: ${Object.keys(PW_CALCULATION_STEP).join(', ')})`,
        };
      }
      type = mapped;
      code = 'quantum_espresso';
    }
    return { kind: 'step', type, parameters, refs, ...(code ? { code } : {}), ...(protocol ? { protocol } : {}), ...(structure ? { structure } : {}) };
  }

  /** The imported steps upstream of a node, through nodes that are not steps (nearest first, node order). */
  upstreamOf(id: number, isStep: (id: number) => boolean): number[] {
    const found: number[] = [];
    const seen = new Set<number>([id]);
    const queue = [id];
    while (queue.length > 0) {
      for (const e of this.incoming.get(queue.shift()!) ?? []) {
        if (seen.has(e.source)) continue;
        seen.add(e.source);
        if (isStep(e.source)) found.push(e.source);
        else queue.push(e.source);
      }
    }
    return found;
  }

  /** Where a node's result goes: `step.argument[.key]` for steps, labels for the rest (through plumbing). */
  consumers(id: number, names: ReadonlyMap<number, string>, suffix = ''): { text: string; step?: string }[] {
    const out: { text: string; step?: string }[] = [];
    for (const e of this.outgoing.get(id) ?? []) {
      const t = this.node(e.target);
      const step = names.get(t.id);
      if (step) out.push({ text: `${step}.${e.targetPort}${suffix}`, step });
      else if (isHelper(t)) {
        const key = t.type === 'function' && t.value === PWD_GET_LIST ? `[${e.targetPort}]` : `.${e.targetPort}`;
        out.push(...this.consumers(t.id, names, `${key}${suffix}`));
      } else if (t.type === 'output') out.push({ text: `output "${t.name}"` });
      else out.push({ text: `${this.label(t.id)} argument "${e.targetPort}${suffix}"` });
    }
    return out.filter((c, i) => out.findIndex((o) => o.text === c.text) === i);
  }

  /** Every node that is not a step and does not feed one, with its reason. */
  unsupported(mappings: ReadonlyMap<number, Mapping>, names: ReadonlyMap<number, string>): UnsupportedNode[] {
    const isStep = (id: number) => names.has(id);
    // Input and helper nodes are used when their value reaches a step (or, for plumbing over steps, an output).
    const used = new Map<number, boolean>();
    const isUsed = (id: number): boolean => {
      const known = used.get(id);
      if (known !== undefined) return known;
      const n = this.node(id);
      const result = (this.outgoing.get(id) ?? []).some((e) => {
        const t = this.node(e.target);
        if (isStep(t.id)) return true;
        if (isHelper(t)) return isUsed(t.id);
        return t.type === 'output' && isHelper(n) && this.upstreamOf(id, isStep).length > 0;
      });
      used.set(id, result);
      return result;
    };
    const list: UnsupportedNode[] = [];
    for (const n of this.wf.nodes) {
      if (isStep(n.id)) continue;
      const fed = this.consumers(n.id, names);
      const fedText = fed.length > 0 ? fed.map((c) => c.text).join(', ') : 'nothing';
      if (n.type === 'function' && !isHelper(n)) {
        const m = mappings.get(n.id);
        let reason = m?.kind === 'unsupported' ? m.why : `${n.value}: not imported`;
        reason += `. Its result fed ${fedText}`;
        const stepsFed = [...new Set(fed.flatMap((c) => (c.step ? [c.step] : [])))];
        const upstream = this.upstreamOf(n.id, isStep).map((s) => names.get(s)!);
        if (stepsFed.length > 0) {
          const plural = stepsFed.length > 1;
          reason +=
            upstream.length > 0
              ? `; ${stepsFed.join(', ')} now ${plural ? 'depend' : 'depends'} on ${upstream.join(', ')} directly (the order is kept, what this node computed is not)`
              : `; ${stepsFed.join(', ')} ${plural ? 'run' : 'runs'} without it`;
        }
        list.push({ nodeId: n.id, type: 'function', value: n.value, reason });
      } else if (n.type === 'function') {
        if (isUsed(n.id)) continue;
        const collected = (this.incoming.get(n.id) ?? []).map((e) => {
          const from = names.get(e.source) ?? this.label(e.source);
          return e.sourcePort === null ? from : `${from} "${e.sourcePort}"`;
        });
        list.push({
          nodeId: n.id,
          type: 'function',
          value: n.value,
          reason: `${n.value}: PWD plumbing collecting ${collected.join(', ') || 'nothing'}, whose result only fed ${fedText}, none of it imported`,
        });
      } else if (n.type === 'input') {
        if (isUsed(n.id)) continue;
        list.push({ nodeId: n.id, type: 'input', value: n.value, reason: `input "${n.name}" only fed ${fedText}, none of it imported` });
      } else {
        const from = (this.incoming.get(n.id) ?? []).map((e) => e.source);
        if (from.some((s) => isStep(s) || (isHelper(this.node(s)) && isUsed(s)))) continue;
        list.push({
          nodeId: n.id,
          type: 'output',
          value: n.name,
          reason: `output "${n.name}" is the result of ${from.length > 0 ? from.map((s) => this.label(s)).join(', ') : 'no node'}, not of an imported step`,
        });
      }
    }
    return list;
  }
}
