/**
 * The embedded Temporal dev server: the official `temporal` CLI's `server start-dev`, persisted to a SQLite
 * file, with the Web UI and CrystalMath's search attributes registered. Used by `crystalmath server start`,
 * by `crystalmath run` when no server answers, and by the test suite (the same binary, the same flags).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SEARCH_ATTRIBUTE_NAMES } from './domain/search-attributes.ts';
import { temporalBinary } from './settings.ts';
import { plainConnectionSettings, temporalAnswers } from './temporal-connection.ts';
import { alive, killGroup, sleep, stopProcessGroup } from './process.ts';

export interface DevServerOptions {
  dbFile: string;
  port: number;
  /** Web UI port; `undefined` runs headless. */
  uiPort?: number;
  namespace?: string;
  logFile: string;
  binary?: string;
  /** Extra `--dynamic-config-value KEY=JSON` settings. */
  dynamicConfig?: Record<string, unknown>;
  /** Seconds to wait for the first successful gRPC call. */
  startTimeoutSeconds?: number;
}

export interface DevServer {
  pid: number;
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

export function devServerArgs(o: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--db-filename', o.dbFile, '--ip', '127.0.0.1', '--port', String(o.port), '--log-level', 'warn'];
  if (o.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  if (o.namespace && o.namespace !== 'default') args.push('--namespace', o.namespace);
  for (const name of SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);
  for (const [k, v] of Object.entries(o.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  return args;
}

/** Starts the server as its own process group (it outlives the caller unless stopped) and waits until it answers. */
export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  mkdirSync(dirname(o.dbFile), { recursive: true });
  mkdirSync(dirname(o.logFile), { recursive: true });
  const log = openSync(o.logFile, 'a');
  const child = spawn(o.binary ?? temporalBinary(), devServerArgs(o), { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the Temporal dev server (see ${o.logFile})`);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const address = `127.0.0.1:${o.port}`;
  const deadline = Date.now() + (o.startTimeoutSeconds ?? 30) * 1000;
  for (;;) {
    if (exited !== null) throw new Error(`the Temporal dev server exited with status ${exited} at start; its log: ${o.logFile}\n${tail(o.logFile)}`);
    if (await answers(address)) break;
    if (Date.now() > deadline) {
      killGroup(pid, 'SIGKILL');
      throw new Error(`the Temporal dev server did not answer on ${address} within ${o.startTimeoutSeconds ?? 30} s; its log: ${o.logFile}`);
    }
    await sleep(200);
  }
  return {
    pid,
    address,
    uiUrl: o.uiPort === undefined ? undefined : `http://127.0.0.1:${o.uiPort}`,
    stop: () => stopProcessGroup(pid),
  };
}

/** True when a plaintext Temporal frontend (the dev server) answers a cheap gRPC call at `address`. */
export function answers(address: string, timeoutMs = 1000): Promise<boolean> {
  return temporalAnswers(plainConnectionSettings(address), timeoutMs);
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The pid file of the dev server that `crystalmath server start` leaves running. */
export const pidFileOf = (dataDir: string) => join(dataDir, 'temporal-dev-server.pid');

export function readPidFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

export function writePidFile(file: string, pid: number): void {
  writeFileSync(file, `${pid}\n`);
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}
