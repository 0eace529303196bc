/**
 * The production topology for tests: the full multi-service Temporal server 1.32.1 (prebuilt in
 * ../shared/tools) on a private PostgreSQL cluster, both started and stopped here, optionally with (m)TLS on
 * the frontend. Every port is free-picked, so stacks coexist with each other and with the suite's dev server.
 *
 * The server creates no namespace and no search attributes; creating them is the tested code's job.
 *
 * PostgreSQL refuses to run as root: as root (CI), initdb / pg_ctl run as the `postgres` system user that
 * Debian's `postgresql` package creates, in a subdirectory it owns. Everything else runs as the caller.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TLSConfig } from '@temporalio/client';
import { describeWhen } from './describe-when.ts';
import { temporalDynamicConfig, temporalServerConfig } from '../../src/deploy/temporal-server-config.ts';
import { alive, killGroup, sleep } from '../../src/process.ts';
import { connectionOptions, loadTemporalConnectionSettings, temporalAnswers } from '../../src/temporal-connection.ts';
import { sharedTool } from './shared.ts';

const execFileAsync = promisify(execFile);

export const FULL_SERVER_VERSION = '1.32.1';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const toolDir = sharedTool(`temporal-server-${FULL_SERVER_VERSION}`);
/** Unpacked binaries (gitignored), shared by every run of this checkout. */
const unpackDir = join(repoRoot, '.tools', `temporal-server-${FULL_SERVER_VERSION}`);
const BINARIES = ['temporal-server', 'temporal-sql-tool'] as const;
const PG_USER = 'temporal';
const PG_PASSWORD = 'temporal';
const isRoot = process.getuid?.() === 0;

export interface FullStackTls {
  /** The CA that signed the server and client certificates (the server trusts it for mTLS). */
  caFile: string;
  /** The client certificate and key (mTLS: the frontend requires one). */
  certFile: string;
  keyFile: string;
  /** A name in the server certificate's SAN (it also holds IP 127.0.0.1). */
  serverName: string;
  /** An unrelated CA, for tests that must fail to verify the server. */
  wrongCaFile: string;
}

export interface FullStack {
  /** host:port of the frontend's gRPC listener. */
  readonly address: string;
  readonly dir: string;
  /** The server's stdout + stderr (JSON lines), appended across restarts. */
  readonly logFile: string;
  readonly tls?: FullStackTls;
  /** How the server reaches PostgreSQL (`psql -h 127.0.0.1 -p <port> -U temporal temporal`). */
  readonly postgres: { host: string; port: number; user: string; password: string };
  /** The running server's pid (leader of its own process group), undefined after `killServer()`. */
  readonly serverPid: number | undefined;
  /** SIGKILL the server's process group and wait until it is gone. */
  killServer(): Promise<void>;
  /** Start the server again on the same config and database; resolves when the frontend answers. */
  startServer(): Promise<void>;
  /** Restart PostgreSQL (fast shutdown, connections dropped); resolves when it accepts connections again. */
  restartPostgres(): Promise<void>;
  /** Server (SIGKILL), then PostgreSQL; removes `dir` unless CRYSTALMATH_KEEP_TEST_DIRS=1. Safe to call twice. */
  stop(): Promise<void>;
}

export interface FullStackOptions {
  /** Part of the temp directory's name. */
  name: string;
  /** mTLS on the frontend, with certificates made by openssl in `dir/tls`. */
  tls?: boolean;
  /** Dynamic config values (`key: value`); none by default. */
  dynamicConfig?: Record<string, unknown>;
  /** Seconds to wait for the frontend to answer (default 60). */
  startTimeoutSeconds?: number;
}

/** Why the full-server tests cannot run here, or undefined when they can. */
export function fullServerSkipReason(): string | undefined {
  if (!existsSync(join(toolDir, 'temporal-server.xz'))) return `${toolDir} is absent; it exists in CI and developer checkouts only`;
  if (!postgresBinDir()) return 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; bash scripts/setup.sh installs it)';
  if (isRoot && !postgresUser()) return 'running as root and there is no `postgres` user to run PostgreSQL as (the postgresql package creates it)';
  for (const cmd of ['xz', 'openssl']) if (!onPath(cmd)) return `\`${cmd}\` is not installed (bash scripts/setup.sh installs it)`;
  return undefined;
}

/** `describe` that runs only where the full server can (see `fullServerSkipReason`), else skips with the reason in its title. */
export function describeFullServer(name: string, fn: () => void): void {
  describeWhen(fullServerSkipReason(), name, fn);
}

/** Connection TLS options for a stack's certificates (`Connection.connect` / `NativeConnection.connect`). */
/**
 * The TEMPORAL_* variables a user sets to reach this stack (Temporal's environment configuration): address,
 * and with TLS the server CA, the client certificate pair and the server name. `caFile` swaps the CA (negative tests).
 */
export function fullStackEnv(stack: { address: string; tls?: FullStackTls }, opts: { caFile?: string; namespace?: string } = {}): Record<string, string> {
  const env: Record<string, string> = { TEMPORAL_ADDRESS: stack.address };
  if (opts.namespace) env.TEMPORAL_NAMESPACE = opts.namespace;
  if (stack.tls) {
    Object.assign(env, {
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: opts.caFile ?? stack.tls.caFile,
      TEMPORAL_TLS_CLIENT_CERT_PATH: stack.tls.certFile,
      TEMPORAL_TLS_CLIENT_KEY_PATH: stack.tls.keyFile,
      TEMPORAL_TLS_SERVER_NAME: stack.tls.serverName,
    });
  }
  return env;
}

/** SDK TLS options for this stack, read through the same envconfig path the worker and CLI use. */
export function fullStackClientTls(tls: FullStackTls, caFile = tls.caFile): TLSConfig {
  return connectionOptions(loadTemporalConnectionSettings(fullStackEnv({ address: 'unused:0', tls }, { caFile }))).tls as TLSConfig;
}

/** PostgreSQL, schema, (certificates,) server; resolves when the frontend answers. Call `stop()` in afterAll. */
export async function startFullStack(options: FullStackOptions): Promise<FullStack> {
  const reason = fullServerSkipReason();
  if (reason) throw new Error(`cannot start the full Temporal server: ${reason}`);
  const bins = await unpackedBinaries();
  const pgBin = postgresBinDir()!;
  const dir = mkdtempSync(join(tmpdir(), `crystalmath-fullserver-${options.name}-`));
  const pgDir = join(dir, 'pg');
  const dataDir = join(pgDir, 'data');
  const logFile = join(dir, 'server.log');
  const configFile = join(dir, 'config.yaml');
  mkdirSync(pgDir);
  if (isRoot) {
    const { uid, gid } = postgresUser()!;
    chmodSync(dir, 0o755); // postgres must reach pg/
    chownSync(pgDir, uid, gid);
  }
  const asPostgres = (cmd: string, args: string[]) => (isRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));

  const [pgPort, ...ports] = await distinctFreePorts(10);
  const [feGrpc, feMembership, feHttp, hiGrpc, hiMembership, maGrpc, maMembership, woGrpc, woMembership] = ports as number[];
  const address = `127.0.0.1:${feGrpc}`;
  const pg = { host: '127.0.0.1', port: pgPort!, user: PG_USER, password: PG_PASSWORD };
  const pgCtl = (...args: string[]) => asPostgres(join(pgBin, 'pg_ctl'), ['-D', dataDir, '-l', join(pgDir, 'postgres.log'), '-w', '-t', '60', ...args]);

  let pid: number | undefined;
  let pgRunning = false;
  let stopped = false;
  let tls: FullStackTls | undefined;

  const startServer = async (): Promise<void> => {
    if (stopped) throw new Error('this full stack was stopped');
    if (pid !== undefined && alive(pid)) throw new Error(`the full Temporal server is already running (pid ${pid})`);
    const log = openSync(logFile, 'a');
    const child = spawn(bins['temporal-server'], ['--config-file', configFile, '--allow-no-auth', 'start'], { cwd: dir, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start the full Temporal server (see ${logFile})`);
    pid = child.pid;
    let exited: string | undefined; // this child's, not a killed predecessor's
    child.on('exit', (code, signal) => (exited = signal ?? String(code)));
    const timeout = options.startTimeoutSeconds ?? 60;
    const deadline = Date.now() + timeout * 1000;
    for (;;) {
      if (exited !== undefined) throw new Error(`the full Temporal server exited (${exited}) at start; its log: ${logFile}\n${tail(logFile)}`);
      if (await temporalAnswers(loadTemporalConnectionSettings(fullStackEnv({ address, tls })))) return;
      if (Date.now() > deadline) {
        await killServer();
        throw new Error(`the full Temporal server did not answer on ${address} within ${timeout} s; its log: ${logFile}\n${tail(logFile)}`);
      }
      await sleep(200);
    }
  };

  const killServer = async (): Promise<void> => {
    if (pid === undefined) return;
    killGroup(pid, 'SIGKILL');
    await waitGone(pid);
    pid = undefined;
  };

  const stop = async (keepDir = process.env.CRYSTALMATH_KEEP_TEST_DIRS === '1'): Promise<void> => {
    if (stopped) return;
    stopped = true;
    live.delete(emergency);
    try {
      await killServer(); // nothing of it is kept, and its graceful shutdown takes seconds
    } finally {
      if (pgRunning) await pgCtl('-m', 'fast', 'stop').catch(() => killPostgres(dataDir));
      pgRunning = false;
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    }
  };
  // If the test process dies without stop(), do not leave a server or a postmaster behind.
  const emergency = () => {
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    if (pgRunning) killPostgres(dataDir);
  };
  live.add(emergency);
  registerExitHook();

  try {
    await asPostgres(join(pgBin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    pgRunning = true;
    await pgCtl('-o', `-p ${pg.port} -k '${pgDir}' -c listen_addresses=127.0.0.1`, 'start');
    await run(join(pgBin, 'psql'), ['-h', pgDir, '-p', String(pg.port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE ROLE ${PG_USER} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}'`]);
    await setupSchema(bins['temporal-sql-tool'], pg);
    if (options.tls) tls = await makeCertificates(join(dir, 'tls'));

    const dynamicConfigFile = join(dir, 'dynamic-config.yaml');
    writeFileSync(dynamicConfigFile, temporalDynamicConfig(options.dynamicConfig));
    writeFileSync(
      configFile,
      temporalServerConfig({
        postgres: pg,
        ports: {
          frontend: { grpc: feGrpc!, membership: feMembership!, http: feHttp! },
          history: { grpc: hiGrpc!, membership: hiMembership! },
          matching: { grpc: maGrpc!, membership: maMembership! },
          worker: { grpc: woGrpc!, membership: woMembership! },
        },
        dynamicConfigFile,
        ...(tls && {
          tls: {
            caFile: tls.caFile,
            certFile: join(dir, 'tls', 'server.pem'),
            keyFile: join(dir, 'tls', 'server.key'),
            clientCertFile: tls.certFile,
            clientKeyFile: tls.keyFile,
            serverName: tls.serverName,
          },
        }),
      }),
    );
    await startServer();
  } catch (e) {
    await stop(true).catch(() => undefined); // keep the logs the error points at
    throw e;
  }

  return {
    address,
    dir,
    logFile,
    tls,
    postgres: pg,
    get serverPid() {
      return pid;
    },
    killServer,
    startServer,
    restartPostgres: async () => {
      await pgCtl('-m', 'fast', 'restart');
      await waitForPostgres(pgBin, pg.port);
    },
    stop: () => stop(),
  };
}

// ---------------------------------------------------------------------------------------------------------

async function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { env: env ?? process.env, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; code?: number | string; signal?: string };
    const output = (err.stderr || err.stdout || '').trim().slice(-4000);
    throw new Error(`${[cmd, ...args].join(' ')} failed (${err.signal ?? err.code}):\n${output}`);
  }
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
}

/** The newest installed PostgreSQL's bin directory (Debian layout). */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/** The server and sql tool, unpacked once per checkout and checked against SHA256SUMS. */
async function unpackedBinaries(): Promise<Record<(typeof BINARIES)[number], string>> {
  const sums = new Map(
    readFileSync(join(toolDir, 'SHA256SUMS'), 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+\*?/))
      .filter((p): p is [string, string] => p.length === 2)
      .map(([sum, file]) => [file, sum]),
  );
  mkdirSync(unpackDir, { recursive: true });
  const out = {} as Record<(typeof BINARIES)[number], string>;
  for (const name of BINARIES) {
    const want = sums.get(name);
    if (!want) throw new Error(`${join(toolDir, 'SHA256SUMS')} has no line for ${name}`);
    const target = join(unpackDir, name);
    const marker = `${target}.sha256`; // written after the binary is in place: a cheap "already checked"
    if (!(existsSync(target) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === want)) {
      const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
      try {
        const fd = openSync(tmp, 'w', 0o755);
        try {
          await new Promise<void>((res, rej) => {
            const xz = spawn('xz', ['-dc', join(toolDir, `${name}.xz`)], { stdio: ['ignore', fd, 'pipe'] });
            let stderr = '';
            xz.stderr!.on('data', (d) => (stderr += d));
            xz.on('error', rej);
            xz.on('exit', (code) => (code === 0 ? res() : rej(new Error(`xz -dc ${name}.xz failed (${code}): ${stderr}`))));
          });
        } finally {
          closeSync(fd);
        }
        const got = await sha256(tmp);
        if (got !== want) throw new Error(`${name} unpacked from ${toolDir} has SHA-256 ${got}, SHA256SUMS says ${want}`);
        chmodSync(tmp, 0o755);
        renameSync(tmp, target);
        writeFileSync(`${marker}.tmp-${process.pid}`, `${want}\n`);
        renameSync(`${marker}.tmp-${process.pid}`, marker);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    out[name] = target;
  }
  return out;
}

function sha256(file: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('error', rej)
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')));
  });
}

/**
 * `n` distinct free ports below 32768. Not `freePort()`: the kernel hands those out from the ephemeral range
 * (32768+), and Temporal's PostgreSQL schema stores a service's membership port in a SMALLINT
 * (`cluster_membership.rpc_port`), so the server dies at start on such a port. Below the ephemeral range, no
 * outgoing connection takes one of the ports between a kill and a restart either.
 */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < n; tries++) {
    if (tries > 1000) throw new Error('no free ports in 20000-32767');
    const port = 20000 + Math.floor(Math.random() * (32768 - 20000));
    if (!ports.has(port) && (await isFree(port))) ports.add(port);
  }
  return [...ports];
}

function isFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.unref();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** Both databases, as the server's README says (the schemas are embedded in the sql tool). */
async function setupSchema(sqlTool: string, pg: { host: string; port: number; user: string; password: string }): Promise<void> {
  const env = { ...process.env, SQL_PLUGIN: 'postgres12', SQL_HOST: pg.host, SQL_PORT: String(pg.port), SQL_USER: pg.user, SQL_PASSWORD: pg.password };
  await Promise.all(
    [
      ['temporal', 'postgresql/v12/temporal'],
      ['temporal_visibility', 'postgresql/v12/visibility'],
    ].map(async ([db, schema]) => {
      await run(sqlTool, ['--db', db!, 'create-database'], env);
      await run(sqlTool, ['--db', db!, 'setup-schema', '-v', '0.0'], env);
      await run(sqlTool, ['--db', db!, 'update-schema', '-s', schema!], env);
    }),
  );
}

async function waitForPostgres(pgBin: string, port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await run(join(pgBin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

/** Last resort when pg_ctl cannot stop it: SIGQUIT (immediate shutdown) to the postmaster of `dataDir`. */
function killPostgres(dataDir: string): void {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGQUIT');
  } catch {
    /* not running */
  }
}

async function waitGone(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} is still alive ${timeoutMs} ms after SIGKILL`);
    await sleep(50);
  }
}

const live = new Set<() => void>();
let exitHookRegistered = false;
function registerExitHook(): void {
  if (exitHookRegistered) return;
  exitHookRegistered = true;
  process.on('exit', () => {
    for (const f of live) f();
  });
}

/**
 * A CA; a server certificate for localhost / 127.0.0.1 and a client certificate, both signed by it; and an
 * unrelated CA. EC P-256, with the extensions strict verifiers (Go, rustls) insist on.
 */
async function makeCertificates(dir: string): Promise<FullStackTls> {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30'];
  const ca = (name: string, cn: string) => run('openssl', ['req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-subj', `/CN=${cn}`]);
  const leaf = (name: string, cn: string, ...ext: string[]) =>
    run('openssl', [
      'req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-subj', `/CN=${cn}`,
      '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature',
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
  await Promise.all([ca('ca', 'CrystalMath test CA'), ca('wrong-ca', 'CrystalMath unrelated CA')]);
  await Promise.all([
    leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1', 'extendedKeyUsage=serverAuth'),
    leaf('client', 'crystalmath-test-client', 'subjectAltName=DNS:crystalmath-test-client', 'extendedKeyUsage=clientAuth'),
  ]);
  return { caFile: f('ca.pem'), certFile: f('client.pem'), keyFile: f('client.key'), serverName: 'localhost', wrongCaFile: f('wrong-ca.pem') };
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
