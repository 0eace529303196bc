/**
 * The Python Workflow Definition (PWD) format, version 0.1.0, as zod schemas, and its validation.
 *
 * PWD (pythonworkflow/python-workflow-definition, `src/python_workflow_definition/models.py`) is a JSON DAG
 * `{version, nodes, edges}` that aiida-workgraph, jobflow, pyiron and executorlib all read and write:
 *
 * - function node `{id, type: "function", value: "module.function"}`: `value` non-empty, with at least one
 *   period, neither starting nor ending with one;
 * - input node `{id, type: "input", name, value}`: `value` any JSON value (null when absent);
 * - output node `{id, type: "output", name}`;
 * - edge `{source, sourcePort, target, targetPort}`: `targetPort` names the keyword argument of a function target
 *   (null into an output node), `sourcePort` picks one key of the source's returned dict (null: the whole value).
 *   The reference model reserves the port name `__result__` (its internal name for null).
 *
 * The reference model checks only the shape (and, like it, we ignore unknown keys and accept any version
 * string). A graph that no PWD engine can run is rejected here too, each problem naming its node or edge
 * (e.g. `edges[3]: target 7 is not a node id`): duplicate ids, edges to unknown nodes, edges into input nodes
 * or out of output nodes, an unnamed argument of a function, one argument fed twice, cycles.
 * Pure: no I/O.
 */
import { z } from 'zod';

/** The PWD format version CrystalMath writes (python_workflow_definition.shared.VERSION_NUMBER). */
export const PWD_VERSION = '0.1.0';
/** The reference model's internal name for a null sourcePort; explicit use is not allowed. */
export const PWD_RESERVED_PORT = '__result__';
/** Module of the PWD helper functions `get_dict` / `get_list` (python_workflow_definition/shared.py). */
export const PWD_SHARED_MODULE = 'python_workflow_definition.shared';
export const PWD_GET_DICT = `${PWD_SHARED_MODULE}.get_dict`;
export const PWD_GET_LIST = `${PWD_SHARED_MODULE}.get_list`;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The first place in `v` that JSON cannot hold, if any (path relative to `v`). */
export function findNonJson(v: unknown, path: (string | number)[] = []): { path: (string | number)[]; what: string } | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : { path, what: String(v) };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = findNonJson(v[i], [...path, i]);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return { path, what: `a ${(v as object).constructor?.name ?? 'non-plain'} object` };
    for (const [k, x] of Object.entries(v)) {
      const bad = findNonJson(x, [...path, k]);
      if (bad) return bad;
    }
    return undefined;
  }
  return { path, what: typeof v === 'undefined' ? 'undefined' : `a ${typeof v}` };
}

const JsonValueSchema = z.custom<JsonValue>(() => true).superRefine((v, ctx) => {
  const bad = findNonJson(v);
  if (bad) ctx.addIssue({ code: 'custom', path: bad.path, message: `${bad.what} is not a JSON value` });
});

const nodeId = z.number({ error: 'must be an integer node id' }).int('must be an integer node id');

export const PwdFunctionNodeSchema = z.object({
  id: nodeId,
  type: z.literal('function'),
  value: z
    .string({ error: 'must be a string "module.function"' })
    .refine((v) => v.length > 0 && v.includes('.') && !v.startsWith('.') && !v.endsWith('.'), {
      error: (iss) => `"${String(iss.input)}" is not in "module.function" form (at least one period, not at either end)`,
    }),
});
export const PwdInputNodeSchema = z.object({
  id: nodeId,
  type: z.literal('input'),
  name: z.string({ error: 'an input node needs a name (string)' }),
  value: JsonValueSchema.optional().transform((v) => (v === undefined ? null : v)),
});
export const PwdOutputNodeSchema = z.object({
  id: nodeId,
  type: z.literal('output'),
  name: z.string({ error: 'an output node needs a name (string)' }),
});
export const PwdNodeSchema = z.discriminatedUnion('type', [PwdFunctionNodeSchema, PwdInputNodeSchema, PwdOutputNodeSchema], {
  error: (iss) => (iss.code === 'invalid_union' ? `type must be "function", "input" or "output"` : undefined),
});

const port = z.string({ error: 'must be a string or null' }).min(1, 'must not be empty').nullable().optional().transform((v) => v ?? null);

export const PwdEdgeSchema = z.object({
  source: nodeId,
  sourcePort: port.refine((p) => p !== PWD_RESERVED_PORT, `"${PWD_RESERVED_PORT}" is reserved: use null for the whole return value`),
  target: nodeId,
  targetPort: port,
});

export type PwdFunctionNode = z.output<typeof PwdFunctionNodeSchema>;
export type PwdInputNode = z.output<typeof PwdInputNodeSchema>;
export type PwdOutputNode = z.output<typeof PwdOutputNodeSchema>;
export type PwdNode = z.output<typeof PwdNodeSchema>;
export type PwdEdge = z.output<typeof PwdEdgeSchema>;

/** A PWD workflow: the reference model's shape plus the graph rules in the header. */
export const PwdWorkflowSchema = z
  .object({
    version: z.string({ error: 'must be the format version as a string, e.g. "0.1.0"' }).min(1, 'must not be empty'),
    nodes: z.array(PwdNodeSchema, { error: 'must be an array of nodes' }),
    edges: z.array(PwdEdgeSchema, { error: 'must be an array of edges' }),
  })
  .superRefine((wf, ctx) => {
    const byId = new Map<number, { node: PwdNode; index: number }>();
    wf.nodes.forEach((node, index) => {
      const first = byId.get(node.id);
      if (first) ctx.addIssue({ code: 'custom', path: ['nodes', index, 'id'], message: `id ${node.id} is already used by nodes[${first.index}]` });
      else byId.set(node.id, { node, index });
    });
    const fed = new Map<string, number>();
    wf.edges.forEach((e, i) => {
      const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['edges', i], message });
      const source = byId.get(e.source)?.node;
      const target = byId.get(e.target)?.node;
      if (!source) issue(`source ${e.source} is not a node id`);
      if (!target) issue(`target ${e.target} is not a node id`);
      if (source?.type === 'output') issue(`source ${e.source} is an output node ("${source.name}"); outputs feed nothing`);
      if (target?.type === 'input') issue(`target ${e.target} is an input node ("${target.name}"); inputs take no edges`);
      if (target?.type === 'function' && e.targetPort === null) {
        issue(`targetPort is null, but target ${e.target} is a function (${target.value}) and needs the argument name`);
      }
      if (target && target.type !== 'input') {
        const key = `${e.target}\u0000${e.targetPort ?? ''}`;
        const other = fed.get(key);
        if (other !== undefined) {
          issue(
            target.type === 'function'
              ? `argument "${e.targetPort}" of target ${e.target} (${target.value}) is already fed by edges[${other}]`
              : `output ${e.target} ("${target.name}") is already fed by edges[${other}]`,
          );
        } else fed.set(key, i);
      }
    });
    const cycle = findGraphCycle(wf.nodes.map((n) => n.id), wf.edges);
    if (cycle) ctx.addIssue({ code: 'custom', path: ['edges'], message: `cycle through nodes ${cycle.join(' → ')}` });
  });
export type PwdWorkflow = z.output<typeof PwdWorkflowSchema>;
export type PwdWorkflowInput = z.input<typeof PwdWorkflowSchema>;

/** Invalid PWD (or CrystalMath extensions) data; `issues` has one line per problem, each naming its place. */
export class PwdValidationError extends Error {
  readonly issues: string[];
  /** What was invalid, e.g. "invalid PWD workflow", "invalid extensions.json". */
  readonly what: string;
  constructor(issues: string[], what = 'invalid PWD workflow') {
    super(`${what}: ${issues.join('; ')}`);
    this.name = 'PwdValidationError';
    this.issues = issues;
    this.what = what;
  }
}

/**
 * zod issues as `nodes[2] (id 7).value: ...` / `edges[3]: target 7 is not a node id`: arrays indexed with
 * brackets, a node's id beside its index when the raw data has one.
 */
export function formatPwdIssues(error: z.ZodError, raw: unknown, prefix = ''): string[] {
  return error.issues.map((issue) => {
    let text = prefix;
    let cursor: unknown = raw;
    issue.path.forEach((key, depth) => {
      const next = cursor !== null && typeof cursor === 'object' ? (cursor as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
      if (typeof key === 'number') {
        text += `[${key}]`;
        const id = next !== null && typeof next === 'object' ? (next as { id?: unknown }).id : undefined;
        if (depth === 1 && issue.path[0] === 'nodes' && typeof id === 'number' && issue.path[2] !== 'id') text += ` (id ${id})`;
      } else text += `${text ? '.' : ''}${String(key)}`;
      cursor = next;
    });
    return `${text || '(workflow)'}: ${issue.message}`;
  });
}

/** Validate parsed JSON as a PWD workflow; throws PwdValidationError naming every node / edge at fault. */
export function validatePwd(json: unknown): PwdWorkflow {
  const parsed = PwdWorkflowSchema.safeParse(json);
  if (!parsed.success) throw new PwdValidationError(formatPwdIssues(parsed.error, json));
  return parsed.data;
}

/** A cycle among `ids` along `edges` (source → target), as a closed list of ids, or undefined. */
export function findGraphCycle(ids: readonly number[], edges: readonly { source: number; target: number }[]): number[] | undefined {
  const out = new Map<number, number[]>();
  for (const e of edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  const state = new Map<number, 'visiting' | 'done'>();
  const path: number[] = [];
  const visit = (id: number): number[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const next of out.get(id) ?? []) {
      const c = visit(next);
      if (c) return c;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    const c = visit(id);
    if (c) return c;
  }
  return undefined;
}
