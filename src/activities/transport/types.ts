/**
 * One interface for "run this and move these files" on a cluster, whether the worker reaches it over SSH or
 * runs on it. Paths are the cluster's paths (absolute, or relative to the login directory over SSH and to
 * the worker's cwd locally). Parent directories are not created implicitly: call `mkdirp` first.
 */
import { shellJoin, shellQuote } from '../../domain/shell.ts';
import { TransportUsageError } from './errors.ts';

/** An argv (no shell: every element is one word, quoted on the way) or a POSIX sh script (fed on stdin to /bin/sh -s). */
export type Command = readonly string[] | { readonly script: string };

export interface ExecOptions {
  /** Directory to run in. */
  cwd?: string;
  /** Extra environment variables (names: letters, digits, _). */
  env?: Readonly<Record<string, string>>;
  /** Bytes for the command's stdin (not with `{ script }`, whose stdin is the script). */
  stdin?: string | Uint8Array;
  /**
   * Fail with a (retryable) CommandTimeoutError after this long. Locally the process group is killed; over SSH
   * the command runs under coreutils `timeout -s KILL` (a second later), so it stops on the cluster too.
   */
  timeoutMs?: number;
}

export interface ExecResult {
  /** Exit status; 128 + signal number when a signal ended the command. */
  code: number;
  /** The signal's name (`SIGKILL`) when a signal ended the command. */
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface Transport {
  readonly kind: 'local' | 'ssh';
  /** The cluster (profile name) this transport reaches. */
  readonly cluster: string;
  exec(command: Command, opts?: ExecOptions): Promise<ExecResult>;
  /** Copies a file of the worker's machine to the cluster. */
  upload(localPath: string, remotePath: string): Promise<void>;
  /** Copies a file of the cluster to the worker's machine. */
  download(remotePath: string, localPath: string): Promise<void>;
  writeFile(remotePath: string, content: string | Uint8Array, opts?: { mode?: number }): Promise<void>;
  readFile(remotePath: string): Promise<Buffer>;
  readFile(remotePath: string, encoding: 'utf8'): Promise<string>;
  exists(remotePath: string): Promise<boolean>;
  /** `mkdir -p`: creates the directory and its parents; fine when it exists. */
  mkdirp(remotePath: string): Promise<void>;
  /** Ends the connection (SSH). Pooled transports are closed with `closeAllTransports()` at worker shutdown. */
  close(): Promise<void>;
}

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The command line sent to the remote login shell, built only from quoted words: `cd <cwd> && env K=V ...
 * <argv>`. Works under sh, bash, zsh and (argv without newlines) csh. A script runs as `/bin/sh -s` with the
 * script as stdin, so its text never passes through the login shell at all.
 */
export function remoteCommandLine(
  command: Command,
  opts: Pick<ExecOptions, 'cwd' | 'env'> & {
    /** Wrap the command in coreutils `timeout -s KILL <seconds>` so the far side stops it too. */
    killAfterSeconds?: number;
  } = {},
): { line: string; stdin?: string } {
  const prefix: string[] = [];
  if (opts.cwd !== undefined) {
    if (opts.cwd === '') throw new TransportUsageError('exec: cwd is empty');
    prefix.push(`cd ${shellQuote(opts.cwd)} &&`);
  }
  const env = Object.entries(opts.env ?? {});
  for (const [k] of env) if (!ENV_NAME_RE.test(k)) throw new TransportUsageError(`exec: not an environment variable name: ${JSON.stringify(k)}`);
  if (env.length) prefix.push('env', ...env.map(([k, v]) => shellQuote(`${k}=${v}`)));
  if (opts.killAfterSeconds !== undefined) prefix.push('timeout', '-s', 'KILL', String(Math.max(1, Math.ceil(opts.killAfterSeconds))));
  if ('script' in command) {
    return { line: [...prefix, '/bin/sh -s'].join(' '), stdin: command.script };
  }
  const argv = command as readonly string[];
  if (argv.length === 0 || argv[0] === '') throw new TransportUsageError('exec: empty argv');
  for (const a of argv) if (typeof a !== 'string') throw new TransportUsageError(`exec: argv elements must be strings, got ${typeof a}`);
  const [first, ...rest] = argv as [string, ...string[]];
  if (first.includes('=')) {
    // The shell (or `env`) would read NAME=value as an assignment, not a command name.
    if (env.length || opts.killAfterSeconds !== undefined) throw new TransportUsageError(`exec: a command name containing "=" cannot run with env or a timeout: ${JSON.stringify(first)}`);
    prefix.push(`'${first.replace(/'/g, `'\\''`)}'`);
  } else prefix.push(shellQuote(first));
  return { line: [...prefix, shellJoin(rest)].filter((w) => w !== '').join(' ') };
}

