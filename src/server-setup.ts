/**
 * `crystalmath server init` / `server check`: what a Temporal server needs before CrystalMath workflows run on
 * it: the namespace (with a retention period) and CrystalMath's search attributes. Works on any Temporal
 * server through the public WorkflowService / OperatorService (the dev server registers both at start; a
 * full server on PostgreSQL starts with neither). Idempotent: a second `init` changes nothing.
 */
import type { Connection } from '@temporalio/client';
import { msNumberToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_NAMES } from './domain/search-attributes.ts';
import { sleep } from './process.ts';

const { temporal } = proto; // a CommonJS module: its named exports are not visible to ESM
const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
/** gRPC status codes used here. */
const grpcStatus = { NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, UNIMPLEMENTED: 12, UNAVAILABLE: 14 } as const;

/** The server refused an administrative call (Temporal Cloud does namespaces and search attributes in its own control plane). */
export class ServerSetupRefusedError extends Error {
  override name = 'ServerSetupRefusedError';
}

function refused(e: unknown, what: string, howElse: string): never {
  const code = grpcCode(e);
  if (code === grpcStatus.PERMISSION_DENIED || code === grpcStatus.UNIMPLEMENTED) {
    throw new ServerSetupRefusedError(`the server refused to ${what} (${code === grpcStatus.PERMISSION_DENIED ? 'permission denied' : 'not available here'}): ${howElse}`);
  }
  throw e;
}

export const DEFAULT_RETENTION_DAYS = 30;

export interface ServerSetupReport {
  namespace: string;
  /** `present` before, `created` by this call, `missing` (check only). */
  namespaceState: 'present' | 'created' | 'missing';
  retentionDays?: number;
  searchAttributes: { name: string; state: 'present' | 'added' | 'missing' | 'wrong-type'; type?: string }[];
  /** True when nothing is missing or wrong after this call. */
  ready: boolean;
}

/** What is there and what is missing; changes nothing. */
export async function checkServer(connection: Connection, namespace: string): Promise<ServerSetupReport> {
  const described = await describeNamespace(connection, namespace);
  if (!described) {
    return { namespace, namespaceState: 'missing', searchAttributes: SEARCH_ATTRIBUTE_NAMES.map((name) => ({ name, state: 'missing' })), ready: false };
  }
  const searchAttributes = await attributeStates(connection, namespace);
  return { namespace, namespaceState: 'present', retentionDays: described.retentionDays, searchAttributes, ready: searchAttributes.every((a) => a.state === 'present') };
}

/** Creates the namespace when absent and adds the search attributes that are missing; nothing else. */
export async function initServer(connection: Connection, namespace: string, opts: { retentionDays?: number; timeoutMs?: number } = {}): Promise<ServerSetupReport> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let namespaceState: ServerSetupReport['namespaceState'] = 'present';
  let described = await describeNamespace(connection, namespace);
  if (!described) {
    const retentionDays = opts.retentionDays ?? DEFAULT_RETENTION_DAYS;
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msNumberToTs(retentionDays * 86_400_000),
        description: 'CrystalMath workflows',
      });
      namespaceState = 'created';
    } catch (e) {
      // another `init` won the race: fine
      if (grpcCode(e) !== grpcStatus.ALREADY_EXISTS) refused(e, `create namespace ${namespace}`, 'create it where your Temporal service manages namespaces (Temporal Cloud: its web UI or `tcld namespace create`), then run `crystalmath server init` again');
    }
    described = await describeNamespace(connection, namespace);
  }
  // A namespace created a moment ago is not in every frontend's namespace cache yet: retry until it is.
  const before = await untilNamespaceKnown(deadline, () => attributeStates(connection, namespace));
  const wrong = before.filter((a) => a.state === 'wrong-type');
  if (wrong.length > 0) {
    throw new Error(`search attribute(s) ${wrong.map((a) => `${a.name} (${a.type})`).join(', ')} exist in namespace ${namespace} with a type other than Keyword; CrystalMath needs Keyword`);
  }
  const missing = before.filter((a) => a.state === 'missing').map((a) => a.name);
  if (missing.length > 0) {
    await untilNamespaceKnown(deadline, async () => {
      try {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, KEYWORD])) });
      } catch (e) {
        // a concurrent `init` added them: fine
        if (grpcCode(e) !== grpcStatus.ALREADY_EXISTS) {
          const list = missing.map((n) => `${n}=Keyword`).join(', ');
          refused(e, `add search attributes to ${namespace}`, `add ${list} where your Temporal service manages them (Temporal Cloud: its web UI or tcld's namespace search-attributes command), then check with \`crystalmath server check\``);
        }
      }
    });
  }
  const after = await attributeStates(connection, namespace);
  const searchAttributes = after.map((a) => ({ ...a, state: a.state === 'present' && missing.includes(a.name) ? ('added' as const) : a.state }));
  return {
    namespace,
    namespaceState,
    retentionDays: described?.retentionDays,
    searchAttributes,
    ready: after.every((a) => a.state === 'present'),
  };
}

/** Human-readable lines, one per thing; the CLI prints them. */
export function formatReport(r: ServerSetupReport): string[] {
  const lines = [`namespace ${r.namespace}: ${r.namespaceState}${r.retentionDays !== undefined ? ` (retention ${r.retentionDays} days)` : ''}`];
  for (const a of r.searchAttributes) lines.push(`search attribute ${a.name} (Keyword): ${a.state}${a.state === 'wrong-type' ? ` (is ${a.type})` : ''}`);
  return lines;
}

async function describeNamespace(connection: Connection, namespace: string): Promise<{ retentionDays?: number } | undefined> {
  try {
    const r = await connection.workflowService.describeNamespace({ namespace });
    const seconds = Number(r.config?.workflowExecutionRetentionTtl?.seconds ?? NaN);
    return { retentionDays: Number.isFinite(seconds) ? seconds / 86_400 : undefined };
  } catch (e) {
    if (grpcCode(e) === grpcStatus.NOT_FOUND) return undefined;
    throw e;
  }
}

async function attributeStates(connection: Connection, namespace: string): Promise<ServerSetupReport['searchAttributes']> {
  const r = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = r.customAttributes ?? {};
  return SEARCH_ATTRIBUTE_NAMES.map((name) => {
    const type = custom[name];
    if (type === undefined || type === null) return { name, state: 'missing' as const };
    return type === KEYWORD ? { name, state: 'present' as const } : { name, state: 'wrong-type' as const, type: temporal.api.enums.v1.IndexedValueType[type] };
  });
}

async function untilNamespaceKnown<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const code = grpcCode(e);
      if ((code !== grpcStatus.NOT_FOUND && code !== grpcStatus.UNAVAILABLE) || Date.now() > deadline) throw e;
      await sleep(500);
    }
  }
}

function grpcCode(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? (e as { code: number }).code : undefined;
}
