/**
 * The config file of the full multi-service Temporal server (`temporal-server --config-file <f> start`) on
 * PostgreSQL: what a site runs once the embedded dev server is no longer enough, and what the
 * production-topology tests start. Pure (no I/O): the caller writes the text and the dynamic-config file.
 *
 * Choices, and why:
 * - Every listener is bound to one IP and every port is explicit, so several servers (and the dev server)
 *   can share a machine. No pprof / metrics sections: they would listen on fixed ports.
 * - `publicClient.hostPort` points the system worker at this frontend explicitly: with TLS, its client
 *   config is then `global.tls.systemWorker` (see below), not a guess from membership.
 * - TLS is on the frontend only (the client-facing port). Internode traffic stays plain: the services of
 *   this config share one bind IP (normally loopback, one process).
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { describeZodError } from '../domain/calculation.ts';

const port = z.number().int().min(1).max(65535);
// The PostgreSQL schema keeps it in `cluster_membership.rpc_port SMALLINT`; the server dies at start above that.
const membershipPort = port.max(32767, 'must be at most 32767: Temporal stores it in a SMALLINT column (cluster_membership.rpc_port)');
const servicePorts = z.object({ grpc: port, membership: membershipPort });
const nonEmpty = z.string().min(1);

const optionsSchema = z
  .object({
    /** The IP every service binds on and advertises to the others. */
    bindIp: z.ipv4().default('127.0.0.1'),
    postgres: z.object({
      host: nonEmpty.default('127.0.0.1'),
      port,
      user: nonEmpty,
      password: z.string(),
      database: nonEmpty.default('temporal'),
      visibilityDatabase: nonEmpty.default('temporal_visibility'),
    }),
    ports: z.object({
      frontend: servicePorts.extend({ http: port }),
      history: servicePorts,
      matching: servicePorts,
      worker: servicePorts,
    }),
    /** Absolute path of the dynamic-config YAML (see `temporalDynamicConfig`); the server polls it. */
    dynamicConfigFile: nonEmpty,
    /** Fixed in the database on first start; 4 keeps a test server light. */
    numHistoryShards: z.number().int().min(1).default(4),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    clusterName: nonEmpty.default('active'),
    tls: z
      .object({
        /** The CA that signed the frontend's certificate (and, with `requireClientAuth`, the clients'). */
        caFile: nonEmpty,
        certFile: nonEmpty,
        keyFile: nonEmpty,
        /** The client certificate the server's own system worker presents to the frontend. */
        clientCertFile: nonEmpty,
        clientKeyFile: nonEmpty,
        /** A name in the frontend certificate's SAN; the system worker verifies it (it dials `bindIp`). */
        serverName: nonEmpty,
        /** Mutual TLS: the frontend refuses clients without a certificate signed by `caFile`. */
        requireClientAuth: z.boolean().default(true),
      })
      .optional(),
  })
  .superRefine((o, ctx) => {
    const seen = new Map<number, string>();
    for (const [service, ports] of Object.entries(o.ports)) {
      for (const [kind, value] of Object.entries(ports)) {
        const other = seen.get(value);
        if (other) ctx.addIssue({ code: 'custom', path: ['ports', service, kind], message: `port ${value} is also ${other}` });
        else seen.set(value, `ports.${service}.${kind}`);
      }
    }
  });

export type TemporalServerConfigOptions = z.input<typeof optionsSchema>;

export class TemporalServerConfigError extends Error {
  override name = 'TemporalServerConfigError';
}

/** The server's YAML config. Throws `TemporalServerConfigError` naming each bad field (`ports.history.grpc: ...`). */
export function temporalServerConfig(options: TemporalServerConfigOptions): string {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TemporalServerConfigError(`invalid Temporal server config options: ${describeZodError(parsed.error)}`);
  const o = parsed.data;
  const frontend = `${o.bindIp}:${o.ports.frontend.grpc}`;
  const frontendHttp = `${o.bindIp}:${o.ports.frontend.http}`;

  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${o.postgres.host}:${o.postgres.port}`,
      connectProtocol: 'tcp',
      user: o.postgres.user,
      password: o.postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (p: { grpc: number; membership: number; http?: number }) => ({
    rpc: { grpcPort: p.grpc, membershipPort: p.membership, bindOnIP: o.bindIp, ...(p.http ? { httpPort: p.http } : {}) },
  });

  const config = {
    log: { stdout: true, level: o.logLevel },
    persistence: {
      defaultStore: 'temporal',
      visibilityStore: 'temporal_visibility',
      numHistoryShards: o.numHistoryShards,
      datastores: { temporal: datastore(o.postgres.database, 20), temporal_visibility: datastore(o.postgres.visibilityDatabase, 4) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: o.bindIp },
      ...(o.tls ? { tls: tlsSection(o.tls) } : {}),
    },
    services: {
      frontend: rpc(o.ports.frontend),
      history: rpc(o.ports.history),
      matching: rpc(o.ports.matching),
      worker: rpc(o.ports.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: o.clusterName,
      currentClusterName: o.clusterName,
      clusterInformation: {
        [o.clusterName]: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontend, httpAddress: frontendHttp },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    publicClient: { hostPort: frontend, httpHostPort: frontendHttp },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
  return stringify(config);
}

/**
 * `global.tls` (common/config/config.go `RootTLS`, read by common/rpc/encryption/local_store_tls_provider.go):
 * - `frontend.server` makes the client-facing gRPC/HTTP listeners TLS (`clientCaFiles` + `requireClientAuth`
 *   for mTLS).
 * - `systemWorker` is what the server's own clients of that frontend use once set (`GetFrontendClientConfig`,
 *   behind `publicClient`: the worker service's SDK clients, every service's local frontend/admin client,
 *   the Nexus/callback HTTP client): CA + `serverName` to verify it, and a client certificate for mTLS.
 *   Without it they dial the TLS port in plain text and the system workers never start.
 * - `frontend.client` carries the same trust for older code paths that still read it.
 */
function tlsSection(t: NonNullable<z.output<typeof optionsSchema>['tls']>) {
  const client = { serverName: t.serverName, rootCaFiles: [t.caFile] };
  return {
    frontend: {
      server: {
        certFile: t.certFile,
        keyFile: t.keyFile,
        ...(t.requireClientAuth ? { requireClientAuth: true, clientCaFiles: [t.caFile] } : {}),
      },
      client,
    },
    systemWorker: { certFile: t.clientCertFile, keyFile: t.clientKeyFile, client },
  };
}

/**
 * The dynamic-config file: `key: [{ value }]` per setting (no constraints). An empty map is a valid file.
 */
export function temporalDynamicConfig(values: Record<string, unknown> = {}): string {
  const doc: Record<string, { value: unknown }[]> = {};
  for (const [key, value] of Object.entries(values)) doc[key] = [{ value }];
  return Object.keys(doc).length === 0 ? '{}\n' : stringify(doc);
}
