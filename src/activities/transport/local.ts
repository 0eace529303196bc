/**
 * The worker's own machine as a transport: child processes without a shell (argv) or `/bin/sh -s` (scripts),
 * and the file system. Used for the built-in `local` profile and for workers that run on a cluster's login node.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { access, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { CommandTimeoutError, TransportFileError, TransportUsageError } from './errors.ts';
import type { Command, ExecOptions, ExecResult, Transport } from './types.ts';

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A Node fs error → TransportFileError with the same errno (retryable unless permanent, see errors.ts). */
export function fileError(err: unknown, op: string, path: string): TransportFileError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? 'EIO';
  return new TransportFileError(`${op} ${path}: ${code}: ${e.message ?? String(err)}`.replace(/\s+/g, ' '), code, path, e instanceof Error ? e : undefined);
}

export function signalNumber(name: string | undefined): number | undefined {
  if (!name) return undefined;
  const n = (osConstants.signals as Record<string, number | undefined>)[name.startsWith('SIG') ? name : `SIG${name}`];
  return n;
}

export class LocalTransport implements Transport {
  readonly kind = 'local' as const;
  constructor(readonly cluster = 'local') {}

  async exec(command: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    const env = { ...process.env };
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (!ENV_NAME_RE.test(k)) throw new TransportUsageError(`exec: not an environment variable name: ${JSON.stringify(k)}`);
      env[k] = v;
    }
    let file: string;
    let args: string[];
    let stdin: string | Uint8Array | undefined = opts.stdin;
    if ('script' in command) {
      if (opts.stdin !== undefined) throw new TransportUsageError('exec: a { script } command reads the script from stdin; stdin cannot be given too');
      file = '/bin/sh';
      args = ['-s'];
      stdin = command.script;
    } else {
      const argv = command as readonly string[];
      if (argv.length === 0 || !argv[0]) throw new TransportUsageError('exec: empty argv');
      [file, ...args] = argv as [string, ...string[]];
    }
    if (opts.cwd !== undefined) {
      try {
        if (!(await stat(opts.cwd)).isDirectory()) return { code: 1, stdout: '', stderr: `cd: ${opts.cwd}: Not a directory\n` };
      } catch {
        return { code: 1, stdout: '', stderr: `cd: ${opts.cwd}: No such file or directory\n` };
      }
    }

    return new Promise<ExecResult>((resolve, reject) => {
      const child = spawn(file, args, { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.stdin.on('error', () => undefined); // EPIPE when the command does not read its stdin
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        if (e.code === 'ENOENT' || e.code === 'EACCES') {
          resolve({ code: e.code === 'ENOENT' ? 127 : 126, stdout: '', stderr: `${file}: ${e.code === 'ENOENT' ? 'command not found' : 'permission denied'}\n` });
        } else reject(e);
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        if (timedOut) {
          reject(new CommandTimeoutError(`command ${file} on ${this.cluster} ran longer than ${opts.timeoutMs} ms and was stopped`));
          return;
        }
        const result: ExecResult = {
          code: code ?? 128 + (signalNumber(signal ?? undefined) ?? 0),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        };
        if (signal) result.signal = signal;
        resolve(result);
      });
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, opts.timeoutMs);
      }
      child.stdin.end(stdin === undefined ? undefined : Buffer.from(stdin));
    });
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    await copyFile(localPath, remotePath).catch((e) => {
      throw fileError(e, 'upload', (e as NodeJS.ErrnoException).path === localPath ? localPath : remotePath);
    });
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    await copyFile(remotePath, localPath).catch((e) => {
      throw fileError(e, 'download', (e as NodeJS.ErrnoException).path === localPath ? localPath : remotePath);
    });
  }

  async writeFile(remotePath: string, content: string | Uint8Array, opts: { mode?: number } = {}): Promise<void> {
    await writeFile(remotePath, content, opts.mode === undefined ? {} : { mode: opts.mode }).catch((e) => {
      throw fileError(e, 'writeFile', remotePath);
    });
  }

  readFile(remotePath: string): Promise<Buffer>;
  readFile(remotePath: string, encoding: 'utf8'): Promise<string>;
  async readFile(remotePath: string, encoding?: 'utf8'): Promise<Buffer | string> {
    try {
      const data = await readFile(remotePath);
      return encoding ? data.toString(encoding) : data;
    } catch (e) {
      throw fileError(e, 'readFile', remotePath);
    }
  }

  async exists(remotePath: string): Promise<boolean> {
    try {
      await access(remotePath);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
      throw fileError(e, 'exists', remotePath);
    }
  }

  async mkdirp(remotePath: string): Promise<void> {
    await mkdir(remotePath, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST' || e.code === 'ENOTDIR') {
        throw new TransportFileError(`mkdirp ${remotePath} on ${this.cluster}: a path component exists and is not a directory`, 'ENOTDIR', remotePath, e);
      }
      throw fileError(e, 'mkdirp', remotePath);
    });
  }

  async close(): Promise<void> {
    /* nothing held open */
  }
}
