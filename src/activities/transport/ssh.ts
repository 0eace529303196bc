/**
 * A cluster over SSH (ssh2): ONE connection per cluster per worker process, shared by every caller.
 *
 * - Pool: `sshTransportFor(profile)` returns the process-wide transport of `profile.name`; concurrent calls
 *   multiplex channels on its one connection, at most `profile.ssh.maxChannels` channels at once (one is the
 *   SFTP session, the rest commands), below sshd's MaxSessions (10 by default).
 * - Liveness: SSH keepalives every `keepaliveSeconds`; a dead connection is noticed after 3 unanswered.
 * - Drops: calls in flight when the connection drops fail with a retryable ConnectionError; the next call
 *   reconnects. Failed connection attempts back off (0.5 s, 1 s, 2 s ... up to 30 s) across calls.
 * - Trust: the host key must match the profile's `hostKeys` / `knownHostsFile` (else `~/.ssh/known_hosts`);
 *   unknown or changed keys fail with a non-retryable HostKeyError before authentication, so nothing is sent.
 *   Authentication failures are non-retryable (AuthError); refused / reset / timed-out connections retryable.
 * - Commands: argv words are shell-quoted (`shellJoin`), scripts go to `/bin/sh -s` on stdin (`types.ts`).
 * - Nothing here logs; messages name hosts, users, key paths and fingerprints, never passwords or passphrases.
 */
import { readFile as readLocalFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import type { ClusterProfile } from '../../domain/cluster-profile.ts';
import { sleep } from '../../process.ts';
import { AuthError, CommandTimeoutError, ConnectionError, HostKeyError, TransportError, TransportFileError, TransportUsageError } from './errors.ts';
import { knownHostName, parseKnownHosts, preferredHostKeyAlgorithms, verifyHostKey, type KnownHostEntry } from './known-hosts.ts';
import { fileError, signalNumber } from './local.ts';
import { Semaphore } from './semaphore.ts';
import { remoteCommandLine, type Command, type ExecOptions, type ExecResult, type Transport } from './types.ts';

const { Client } = ssh2;
type SshClient = InstanceType<typeof Client>;

let connectionsOpened = 0;
let connectionAttempts = 0;
/** SSH connections that reached `ready` in this process (a metric; the benchmark reads it). */
export const sshConnectionsOpened = (): number => connectionsOpened;
/** TCP connection attempts, successful or not. */
export const sshConnectionAttempts = (): number => connectionAttempts;

export interface SshTransportOptions {
  /** Connection attempts per call before giving up with a retryable error (default 3). */
  connectAttempts?: number;
  /** First backoff between failed attempts (default 500 ms), doubled each time up to `maxBackoffMs` (30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Environment to read SSH_AUTH_SOCK / passwordEnv / passphraseEnv from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

interface Connection {
  id: number;
  client: SshClient;
  closed: boolean;
  lastError?: Error;
  /** Rejecters of calls using this connection: all fail when it drops. */
  inflight: Set<(e: Error) => void>;
  sftp?: Promise<SFTPWrapper>;
}

const RETRYABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

/**
 * SFTP v3 statuses as errno names. OpenSSH's sftp-server folds every errno into a few: ENOENT, ENOTDIR, ELOOP →
 * 2; EPERM, EACCES → 3; EINVAL, ENAMETOOLONG → 5; ENOSYS → 8; and every other one (ENOSPC, EDQUOT, EIO, ESTALE,
 * EBUSY, but also EEXIST, EISDIR) → 4 "Failure", which therefore counts as transient (EIO). 6 and 7 mean the
 * connection: a ConnectionError.
 */
const SFTP_STATUS: Record<number, string> = { 1: 'EIO', 2: 'ENOENT', 3: 'EACCES', 4: 'EIO', 5: 'EINVAL', 8: 'ENOSYS' };
const SFTP_FAILURE = 4;

/** The file error an SFTP status means (`what`: the operation and path, for the message), or undefined for a connection status. */
export function sftpFileError(status: number, message: string, what: string, path: string, cause?: Error): TransportFileError | undefined {
  const code = SFTP_STATUS[status];
  if (code === undefined) return undefined;
  const detail =
    status === SFTP_FAILURE
      ? `SFTP status 4 (${message}; the server names no errno: a full disk or quota, an I/O error, a stale file handle ...)`
      : `${code} (SFTP status ${status}: ${message})`;
  return new TransportFileError(`${what}: ${detail}`, code, path, cause);
}

let nextConnectionId = 1;

export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  readonly cluster: string;
  private readonly host: string;
  private readonly port: number;
  private readonly user: string;
  private readonly channels: Semaphore;
  private conn: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private failures = 0;
  private closedForGood = false;
  private knownHosts: Promise<KnownHostEntry[]> | undefined;

  constructor(
    readonly profile: ClusterProfile,
    private readonly opts: SshTransportOptions = {},
  ) {
    if (profile.transport !== 'ssh' || !profile.host || !profile.user || !profile.auth) {
      throw new TransportUsageError(`cluster ${profile.name} is not reached over SSH (transport ${profile.transport}; host, user and auth are needed)`);
    }
    this.cluster = profile.name;
    this.host = profile.host;
    this.port = profile.port;
    this.user = profile.user;
    // One channel stays for the SFTP session.
    this.channels = new Semaphore(Math.max(1, profile.ssh.maxChannels - 1));
  }

  /** `user@host:port`, for messages. */
  get target(): string {
    return `${this.user}@${this.host}:${this.port}`;
  }

  /** Most command channels that were open at once (tests check the limit holds). */
  get peakChannels(): number {
    return this.channels.peak;
  }

  /** True while a connection is up. */
  get connected(): boolean {
    return this.conn !== undefined && !this.conn.closed;
  }

  // ----- connection -------------------------------------------------------------------------------------------

  private loadKnownHosts(): Promise<KnownHostEntry[]> {
    this.knownHosts ??= (async () => {
      const entries: KnownHostEntry[] = [];
      const inline = parseKnownHosts(this.profile.hostKeys, 'hostKeys');
      if (inline.invalid.length) {
        throw new TransportUsageError(`cluster ${this.cluster}: invalid hostKeys line ${inline.invalid[0]!.source}: ${inline.invalid[0]!.reason}`);
      }
      entries.push(...inline.entries);
      const file = this.profile.knownHostsFile ?? (this.profile.hostKeys.length ? undefined : join(homedir(), '.ssh', 'known_hosts'));
      if (file) {
        try {
          entries.push(...parseKnownHosts(await readLocalFile(file, 'utf8'), file).entries);
        } catch (e) {
          // A missing file only matters when nothing else pins the host: the check below then says so.
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT') throw new TransportUsageError(`cluster ${this.cluster}: cannot read known_hosts file ${file}: ${code ?? (e as Error).message}`);
        }
      }
      return entries;
    })();
    this.knownHosts.catch(() => (this.knownHosts = undefined));
    return this.knownHosts;
  }

  private async authConfig(): Promise<Partial<ConnectConfig>> {
    const auth = this.profile.auth!;
    const env = this.opts.env ?? process.env;
    if (auth.type === 'key') {
      let key: Buffer;
      try {
        key = await readLocalFile(auth.keyFile);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new AuthError(`cluster ${this.cluster}: cannot read key file ${auth.keyFile} (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
      }
      const passphrase = auth.passphraseEnv ? env[auth.passphraseEnv] : undefined;
      if (auth.passphraseEnv && passphrase === undefined) {
        throw new AuthError(`cluster ${this.cluster}: environment variable ${auth.passphraseEnv} (auth.passphraseEnv) is not set`);
      }
      const parsed = ssh2.utils.parseKey(key, passphrase);
      if (parsed instanceof Error) {
        throw new AuthError(`cluster ${this.cluster}: key file ${auth.keyFile} is not a usable private key (${parsed.message.replace(/passphrase.*$/i, 'encrypted key: wrong or missing passphrase')})`);
      }
      return { privateKey: key, ...(passphrase !== undefined ? { passphrase } : {}) };
    }
    if (auth.type === 'agent') {
      const sock = env[auth.socketEnv];
      if (!sock) throw new AuthError(`cluster ${this.cluster}: auth type agent, but ${auth.socketEnv} is not set (no ssh-agent)`);
      return { agent: sock };
    }
    const password = env[auth.passwordEnv];
    if (password === undefined) throw new AuthError(`cluster ${this.cluster}: environment variable ${auth.passwordEnv} (auth.passwordEnv) is not set`);
    return { password };
  }

  private authDescription(): string {
    const a = this.profile.auth!;
    return a.type === 'key' ? `key ${a.keyFile}` : a.type === 'agent' ? `the ssh-agent at $${a.socketEnv}` : `the password from $${a.passwordEnv}`;
  }

  /** The live connection, connecting (with backoff on repeated failures) when there is none. */
  private connection(): Promise<Connection> {
    if (this.closedForGood) {
      // Retryable: this happens when a worker shuts down (or a profile changed) under a running activity.
      return Promise.reject(new TransportError(`the SSH transport of ${this.cluster} was closed`, 'TransportClosed', true));
    }
    if (this.conn && !this.conn.closed) return Promise.resolve(this.conn);
    this.connecting ??= this.connectWithRetries().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectWithRetries(): Promise<Connection> {
    const attempts = Math.max(1, this.opts.connectAttempts ?? 3);
    const base = this.opts.backoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    for (let i = 1; ; i++) {
      if (this.failures > 0) await sleep(Math.min(max, base * 2 ** (this.failures - 1)));
      try {
        const conn = await this.connectOnce();
        this.failures = 0;
        return conn;
      } catch (e) {
        // Read the known hosts again next time: the user may fix them without restarting the worker.
        if (e instanceof HostKeyError) this.knownHosts = undefined;
        if (!(e instanceof TransportError) || !e.retryable) throw e;
        this.failures++;
        if (i >= attempts) throw e;
      }
    }
  }

  private async connectOnce(): Promise<Connection> {
    const known = await this.loadKnownHosts();
    const auth = await this.authConfig();
    const { host, port } = this;
    const hostKeyFailure: { error?: HostKeyError } = {};
    const preferred = preferredHostKeyAlgorithms(known, host, port);
    const config: ConnectConfig = {
      host,
      port,
      username: this.user,
      readyTimeout: this.profile.ssh.connectTimeoutSeconds * 1000,
      keepaliveInterval: this.profile.ssh.keepaliveSeconds * 1000,
      keepaliveCountMax: 3,
      tryKeyboard: false,
      ...auth,
      // ssh2 takes { prepend } alone; its typings want append/prepend/remove all at once.
      ...(preferred.length ? { algorithms: { serverHostKey: { prepend: preferred } as never } } : {}),
      hostVerifier: (key: Buffer) => {
        const verdict = verifyHostKey(known, host, port, key);
        if (verdict.ok) return true;
        hostKeyFailure.error = this.hostKeyError(verdict, key);
        return false;
      },
    };
    connectionAttempts++;
    const client = new Client();
    return new Promise<Connection>((resolve, reject) => {
      let ready = false;
      let conn: Connection | undefined;
      let lastError: Error | undefined;
      client.on('ready', () => {
        ready = true;
        // Small request/response packets (SFTP stats, short commands): send them without Nagle's delay.
        client.setNoDelay(true);
        connectionsOpened++;
        conn = { id: nextConnectionId++, client, closed: false, inflight: new Set() };
        this.conn = conn;
        resolve(conn);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (ready && conn) conn.lastError = err;
        else lastError = err;
        if (!ready) {
          reject(this.classifyConnectError(err, hostKeyFailure.error));
          client.end();
        }
      });
      client.on('close', () => {
        if (!ready) {
          reject(this.classifyConnectError(lastError ?? new Error('connection closed during the handshake'), hostKeyFailure.error));
          return;
        }
        this.dropped(conn!);
      });
      try {
        client.connect(config);
      } catch (e) {
        reject(new TransportUsageError(`cluster ${this.cluster}: cannot connect: ${(e as Error).message}`));
      }
    });
  }

  private hostKeyError(verdict: Extract<ReturnType<typeof verifyHostKey>, { ok: false }>, key: Buffer): HostKeyError {
    const where = `${this.host} port ${this.port}`;
    const line = `${knownHostName(this.host, this.port)} ${verdict.keyType} ${key.toString('base64')}`;
    const sources = [this.profile.hostKeys.length ? 'hostKeys' : undefined, this.profile.knownHostsFile ?? (this.profile.hostKeys.length ? undefined : '~/.ssh/known_hosts')]
      .filter(Boolean)
      .join(' and ');
    let msg: string;
    if (verdict.reason === 'changed') {
      msg =
        `HOST KEY CHANGED for ${where} (cluster ${this.cluster}): the server presented ${verdict.keyType} ${verdict.fingerprint}, ` +
        `but the profile pins ${verdict.pinned.join(', ')}. This may be a man-in-the-middle attack or a reinstalled server; ` +
        `nothing was sent. If the change is expected, replace the pinned key in ${sources} with: ${line}`;
    } else if (verdict.reason === 'revoked') {
      msg = `the host key of ${where} (cluster ${this.cluster}), ${verdict.keyType} ${verdict.fingerprint}, is marked @revoked; refusing to connect`;
    } else {
      msg =
        `unknown host key for ${where} (cluster ${this.cluster}): the server presented ${verdict.keyType} ${verdict.fingerprint}, which is not in ${sources}` +
        `${verdict.pinned.length ? ` (pinned for this host: ${verdict.pinned.join(', ')})` : ''}; nothing was sent. ` +
        `Check the fingerprint with the cluster's administrators, then add to hostKeys: ${line}`;
    }
    return new HostKeyError(msg, this.host, this.port, verdict.fingerprint, verdict.reason);
  }

  private classifyConnectError(err: Error & { level?: string; code?: string }, hostKey: HostKeyError | undefined): TransportError {
    if (hostKey) return hostKey;
    const at = `${this.host}:${this.port} (cluster ${this.cluster})`;
    if (err.level === 'client-authentication') {
      return new AuthError(`authentication failed for ${this.target} (cluster ${this.cluster}) with ${this.authDescription()}: the server refused it`, err);
    }
    if (err.level === 'client-timeout') return new ConnectionError(`timed out connecting to ${at}: ${err.message}`, this.host, this.port, err);
    if (err.level === 'client-socket' || (err.code && RETRYABLE_SOCKET_CODES.has(err.code))) {
      return new ConnectionError(`cannot connect to ${at}: ${err.code ?? err.message}`, this.host, this.port, err);
    }
    if (/no matching|unsupported algorithm/i.test(err.message)) {
      // Nothing in common with the server: no retry will change that.
      return new TransportError(`SSH handshake with ${at} failed: ${err.message}`, 'SshHandshakeError', false, err);
    }
    return new ConnectionError(`SSH connection to ${at} failed: ${err.message}`, this.host, this.port, err);
  }

  private dropped(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    if (this.conn === conn) this.conn = undefined;
    const reason = conn.lastError ? `: ${conn.lastError.message}` : '';
    const error = new ConnectionError(`SSH connection to ${this.host}:${this.port} (cluster ${this.cluster}) was lost${reason}`, this.host, this.port, conn.lastError);
    for (const fail of [...conn.inflight]) fail(error);
    conn.inflight.clear();
  }

  /** Runs `op` on the live connection; it fails with a retryable ConnectionError if the connection drops meanwhile. */
  private async onConnection<T>(op: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = await this.connection();
    return new Promise<T>((resolve, reject) => {
      if (conn.closed) {
        reject(new ConnectionError(`SSH connection to ${this.host}:${this.port} (cluster ${this.cluster}) was lost`, this.host, this.port));
        return;
      }
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        conn.inflight.delete(fail);
        reject(e);
      };
      conn.inflight.add(fail);
      op(conn).then(
        (v) => {
          if (settled) return;
          settled = true;
          conn.inflight.delete(fail);
          resolve(v);
        },
        (e: unknown) => fail(conn.closed ? this.lostError(conn) : (e as Error)),
      );
    });
  }

  private lostError(conn: Connection): ConnectionError {
    return new ConnectionError(
      `SSH connection to ${this.host}:${this.port} (cluster ${this.cluster}) was lost${conn.lastError ? `: ${conn.lastError.message}` : ''}`,
      this.host,
      this.port,
      conn.lastError,
    );
  }

  private channelError(err: Error, what: string): TransportError {
    return new ConnectionError(`cannot open an SSH channel for ${what} on ${this.host}:${this.port} (cluster ${this.cluster}): ${err.message}`, this.host, this.port, err);
  }

  // ----- commands ---------------------------------------------------------------------------------------------

  async exec(command: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    if ('script' in command && opts.stdin !== undefined) {
      throw new TransportUsageError('exec: a { script } command reads the script from stdin; stdin cannot be given too');
    }
    const { line, stdin } = remoteCommandLine(command, {
      ...opts,
      ...(opts.timeoutMs !== undefined ? { killAfterSeconds: opts.timeoutMs / 1000 + 1 } : {}),
    });
    const input = stdin ?? opts.stdin;
    const what = 'script' in command ? 'a script' : `command ${(command as readonly string[])[0]}`;
    const release = await this.channels.acquire();
    let held = false;
    // A timed-out command answers at once but keeps its channel slot until the channel really closes.
    const holdSlot = () => {
      held = true;
      setTimeout(release, 30_000).unref();
      return release;
    };
    try {
      return await this.onConnection((conn) => this.runChannel(conn, line, input, opts.timeoutMs, what, holdSlot));
    } finally {
      if (!held) release();
    }
  }

  private runChannel(
    conn: Connection,
    line: string,
    input: string | Uint8Array | undefined,
    timeoutMs: number | undefined,
    what: string,
    holdSlot: () => () => void,
  ): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      conn.client.exec(line, (err: Error | undefined, stream: ClientChannel) => {
        if (err) {
          reject(this.channelError(err, what));
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code: number | undefined;
        let signal: string | undefined;
        let timer: NodeJS.Timeout | undefined;
        let settled = false;
        let releaseSlot: (() => void) | undefined;
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        stream.on('exit', (c: number | null, sig?: string) => {
          if (typeof c === 'number') code = c;
          else if (sig) signal = sig.startsWith('SIG') ? sig : `SIG${sig}`;
        });
        stream.on('close', () => {
          if (timer) clearTimeout(timer);
          releaseSlot?.();
          if (settled) return;
          settled = true;
          if (code === undefined && signal === undefined) {
            reject(conn.closed ? this.lostError(conn) : new ConnectionError(`${what} on ${this.cluster} ended without an exit status`, this.host, this.port));
            return;
          }
          const result: ExecResult = {
            code: code ?? 128 + (signalNumber(signal) ?? 0),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          };
          if (signal !== undefined) result.signal = signal;
          resolve(result);
        });
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            // Answer now; the far side's `timeout -s KILL` ends the command a second later, which closes the channel.
            settled = true;
            releaseSlot = holdSlot();
            reject(new CommandTimeoutError(`${what} on ${this.cluster} ran longer than ${timeoutMs} ms and was stopped`));
            try {
              stream.signal('KILL');
              stream.close();
            } catch {
              /* the channel may already be gone */
            }
          }, timeoutMs);
        }
        stream.end(input === undefined ? undefined : Buffer.from(input));
      });
    });
  }

  // ----- files (SFTP) -----------------------------------------------------------------------------------------

  private sftp(conn: Connection): Promise<SFTPWrapper> {
    if (!conn.sftp) {
      const p = new Promise<SFTPWrapper>((resolve, reject) => {
        conn.client.sftp((err: Error | undefined, sftp: SFTPWrapper) => {
          if (err) reject(this.channelError(err, 'SFTP'));
          else {
            sftp.on('close', () => {
              if (conn.sftp === p) conn.sftp = undefined;
            });
            resolve(sftp);
          }
        });
      });
      conn.sftp = p;
      p.catch(() => {
        if (conn.sftp === p) conn.sftp = undefined;
      });
    }
    return conn.sftp;
  }

  private sftpError(err: Error & { code?: number | string }, op: string, path: string): TransportError {
    if (typeof err.code === 'number') {
      return sftpFileError(err.code, err.message, `${op} ${path} on ${this.cluster}`, path, err) ?? new ConnectionError(`${op} ${path} on ${this.cluster}: SFTP status ${err.code} (${err.message})`, this.host, this.port, err);
    }
    if (typeof err.code === 'string') return fileError(err, op, path); // a local file (upload source, download target)
    return new ConnectionError(`${op} ${path} on ${this.cluster} failed: ${err.message}`, this.host, this.port, err);
  }

  private withSftp<T>(op: string, path: string, fn: (sftp: SFTPWrapper, done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    return this.onConnection(async (conn) => {
      const sftp = await this.sftp(conn);
      return new Promise<T>((resolve, reject) => {
        fn(sftp, (err, value) => (err ? reject(this.sftpError(err, op, path)) : resolve(value as T)));
      });
    });
  }

  upload(localPath: string, remotePath: string): Promise<void> {
    return this.withSftp('upload', remotePath, (sftp, done) => sftp.fastPut(localPath, remotePath, (err) => done(err)));
  }

  download(remotePath: string, localPath: string): Promise<void> {
    return this.withSftp('download', remotePath, (sftp, done) => sftp.fastGet(remotePath, localPath, (err) => done(err)));
  }

  writeFile(remotePath: string, content: string | Uint8Array, opts: { mode?: number } = {}): Promise<void> {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    return this.withSftp('writeFile', remotePath, (sftp, done) =>
      sftp.writeFile(remotePath, data, opts.mode === undefined ? {} : { mode: opts.mode }, (err) => done(err)),
    );
  }

  readFile(remotePath: string): Promise<Buffer>;
  readFile(remotePath: string, encoding: 'utf8'): Promise<string>;
  async readFile(remotePath: string, encoding?: 'utf8'): Promise<Buffer | string> {
    const data = await this.withSftp<Buffer>('readFile', remotePath, (sftp, done) => sftp.readFile(remotePath, (err, buf) => done(err, buf)));
    return encoding ? data.toString(encoding) : data;
  }

  async exists(remotePath: string): Promise<boolean> {
    try {
      await this.withSftp('stat', remotePath, (sftp, done) => sftp.stat(remotePath, (err) => done(err)));
      return true;
    } catch (e) {
      if (e instanceof TransportFileError && e.code === 'ENOENT') return false;
      throw e;
    }
  }

  async mkdirp(remotePath: string): Promise<void> {
    if (remotePath === '') throw new TransportUsageError('mkdirp: empty path');
    const isDir = (p: string) =>
      this.withSftp<boolean>('stat', p, (sftp, done) => sftp.stat(p, (err, st) => done(err, err ? false : st.isDirectory()))).catch((e: unknown) => {
        if (e instanceof TransportFileError && e.code === 'ENOENT') return undefined;
        throw e;
      });
    const found = await isDir(remotePath);
    if (found === true) return;
    if (found === false) throw new TransportFileError(`mkdirp ${remotePath} on ${this.cluster}: exists and is not a directory`, 'ENOTDIR', remotePath);
    const absolute = remotePath.startsWith('/');
    const parts = remotePath.split('/').filter(Boolean);
    let prefix = absolute ? '' : '.';
    for (const part of parts) {
      prefix = `${prefix}/${part}`;
      const p = absolute ? prefix : prefix.slice(2);
      try {
        await this.withSftp('mkdir', p, (sftp, done) => sftp.mkdir(p, (err) => done(err)));
      } catch (e) {
        // SFTP says only "Failure" when the directory exists: look before deciding.
        if (!(e instanceof TransportFileError)) throw e;
        const dir = await isDir(p);
        if (dir !== true) throw dir === false ? new TransportFileError(`mkdirp ${remotePath} on ${this.cluster}: ${p} is not a directory`, 'ENOTDIR', p) : e;
      }
    }
  }

  async close(): Promise<void> {
    this.closedForGood = true;
    if (pool.get(this.cluster) === this) pool.delete(this.cluster);
    const conn = this.conn ?? (this.connecting ? await this.connecting.catch(() => undefined) : undefined);
    if (!conn || conn.closed) return;
    await new Promise<void>((resolve) => {
      conn.client.once('close', () => resolve());
      conn.client.end();
      setTimeout(resolve, 2000).unref();
    });
  }

  /** Drops the connection as if the network failed (tests). In-flight calls fail retryably; the next call reconnects. */
  destroyConnection(): void {
    const conn = this.conn;
    if (!conn) return;
    conn.lastError = new Error('connection destroyed');
    conn.client.destroy();
  }
}

// ----- the pool -----------------------------------------------------------------------------------------------

const pool = new Map<string, SshTransport>();

/** What must be equal for a pooled connection to serve a profile. */
function connectionIdentity(p: ClusterProfile): string {
  return JSON.stringify([p.host, p.port, p.user, p.auth, p.hostKeys, p.knownHostsFile, p.ssh]);
}

/**
 * The process-wide SSH transport of `profile.name` (created on first use; one connection, shared). A profile
 * whose host, user, auth, host keys or SSH options changed gets a new transport; the old one is closed.
 */
export function sshTransportFor(profile: ClusterProfile, opts?: SshTransportOptions): SshTransport {
  const existing = pool.get(profile.name);
  if (existing && connectionIdentity(existing.profile) === connectionIdentity(profile)) return existing;
  if (existing) void existing.close();
  const t = new SshTransport(profile, opts);
  pool.set(profile.name, t);
  return t;
}

/** Closes every pooled SSH connection (worker shutdown, test teardown). */
export async function closeSshTransports(): Promise<void> {
  const all = [...pool.values()];
  pool.clear();
  await Promise.all(all.map((t) => t.close()));
}
