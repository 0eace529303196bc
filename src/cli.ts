/**
 * `crystalmath`: run and follow CrystalMath workflows from a shell.
 * Exit codes: 0 success, 1 the calculation failed (its parsed result is still printed), 2 bad input,
 * 3 Temporal unreachable or another infrastructure error.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import {
  CalculationFailedError,
  InputError,
  calculationResult,
  connectClient,
  resolveStructure,
  startCalculation,
} from './client.ts';
import { PROTOCOL_NAMES, type CalculationResult } from './domain/calculation.ts';
import { answers, pidFileOf, readPidFile, removePidFile, startDevServer, writePidFile } from './devserver.ts';
import { stopProcessGroup } from './process.ts';
import { StructureParseError } from './domain/structure/errors.ts';
import { DEFAULT_TEMPORAL_ADDRESS, DEFAULT_UI_PORT, loadSettings, type Settings } from './settings.ts';
import { createWorker } from './worker.ts';
import { DefaultLogger, Runtime } from '@temporalio/worker';

const EXIT = { ok: 0, calculationFailed: 1, badInput: 2, infrastructure: 3 } as const;

/** Analyses the CLI knows; only those marked supported run today, the rest say so instead of failing later. */
const ANALYSES = { scf: true, relax: false, bands: false, dos: false, phonon: false, elastic: false, gw: false, bse: false, transport: false } as const;

const RunFlagsSchema = z.object({
  structure: z.string().min(1),
  analysis: z.enum(Object.keys(ANALYSES) as [keyof typeof ANALYSES, ...(keyof typeof ANALYSES)[]]),
  protocol: z.enum(PROTOCOL_NAMES),
  pseudoFamily: z.string().min(1),
  walltime: z.coerce.number().int().positive(),
  json: z.boolean().optional(),
  embeddedWorker: z.boolean(),
});

const program = new Command('crystalmath').description('Durable computational-materials workflows on Temporal').showHelpAfterError();

program
  .command('run')
  .description('run an analysis on a structure and wait for its result')
  .requiredOption('-s, --structure <name|file>', 'built-in name (Si, MoS2, ...) or a CIF / POSCAR file')
  .option('-a, --analysis <name>', `analysis: ${Object.keys(ANALYSES).join(', ')}`, 'scf')
  .option('-p, --protocol <name>', `protocol: ${PROTOCOL_NAMES.join(', ')}`, 'moderate')
  .option('--pseudo-family <name>', 'pseudopotential family (a directory under the pseudo dir)', 'qe-debian-lda')
  .option('--walltime <seconds>', 'walltime limit of the calculation', '3600')
  .option('--json', 'print the result as JSON')
  .option('--no-embedded-worker', 'do not run a worker inside this command (rely on `crystalmath worker` processes)')
  .action(async (flags) => {
    const parsed = RunFlagsSchema.safeParse(flags);
    if (!parsed.success) throw new InputError(describeFlagErrors(parsed.error));
    const f = parsed.data;
    if (!ANALYSES[f.analysis]) throw new InputError(`--analysis ${f.analysis}: not supported yet (supported: ${supportedAnalyses().join(', ')})`);
    const structure = resolveStructure(f.structure);
    const settings = loadSettings();
    const uiUrl = await ensureServer(settings, !f.json);
    const client = await connectClient(settings);
    const stopWorker = await embeddedWorker(settings, f.embeddedWorker);
    try {
      const handle = await startCalculation(client, {
        code: 'qe-pw',
        structure,
        calculation: 'scf',
        protocol: f.protocol,
        pseudoFamily: f.pseudoFamily,
        analysis: f.analysis,
        resources: { walltimeSeconds: f.walltime, mpiRanks: 1 },
      }, { taskQueue: settings.taskQueue });
      if (!f.json) console.log(`workflow ${handle.workflowId} started${uiUrl ? `: ${uiUrl}/namespaces/${settings.namespace}/workflows/${handle.workflowId}` : ''}`);
      try {
        printResult(await calculationResult(handle), f.json);
      } catch (e) {
        if (e instanceof CalculationFailedError) {
          printResult(e.result, f.json);
          console.error(e.message);
          process.exitCode = EXIT.calculationFailed;
          return;
        }
        throw e;
      }
    } finally {
      await stopWorker();
      await client.connection.close();
    }
  });

const server = program.command('server').description('the embedded Temporal dev server (SQLite file under the data dir, with the Web UI)');
server
  .command('start')
  .option('--port <n>', 'gRPC port', '7233')
  .option('--ui-port <n>', 'Web UI port', String(DEFAULT_UI_PORT))
  .action(async (o) => {
    const settings = loadSettings();
    const port = portArg(o.port, '--port');
    const uiPort = portArg(o.uiPort, '--ui-port');
    const running = readPidFile(pidFileOf(settings.dataDir));
    if (running) {
      console.log(`already running (pid ${running}); Web UI http://127.0.0.1:${uiPort}`);
      return;
    }
    const s = await launchDevServer(settings, port, uiPort);
    console.log(`Temporal dev server on ${s.address} (pid ${s.pid}, data ${join(settings.dataDir, 'temporal.db')}); Web UI ${s.uiUrl}`);
  });
server.command('stop').action(async () => {
  const settings = loadSettings();
  const pid = readPidFile(pidFileOf(settings.dataDir));
  if (!pid) {
    console.log('no dev server started by crystalmath is running');
    return;
  }
  await stopProcessGroup(pid);
  removePidFile(pidFileOf(settings.dataDir));
  console.log(`stopped (pid ${pid})`);
});
server.command('status').action(async () => {
  const settings = loadSettings();
  const up = await answers(settings.temporalAddress);
  console.log(`${settings.temporalAddress}: ${up ? 'answering' : 'not answering'}`);
  if (!up) process.exitCode = EXIT.infrastructure;
});

program
  .command('worker')
  .description('run a worker on the task queue (until Ctrl-C)')
  .action(async () => {
    const { runWorker } = await import('./worker.ts');
    await runWorker();
  });

program
  .command('result <workflowId>')
  .description('print the result of a calculation')
  .option('--json', 'print JSON')
  .action(async (id: string, o: { json?: boolean }) => {
    const client = await connectClient();
    try {
      printResult(await calculationResult(client.workflow.getHandle(id)), o.json);
    } catch (e) {
      if (e instanceof CalculationFailedError) {
        printResult(e.result, o.json);
        process.exitCode = EXIT.calculationFailed;
        return;
      }
      throw e;
    } finally {
      await client.connection.close();
    }
  });

/** zod issues on CLI flags, named as the user typed them: `--protocol: Invalid option ...`. */
function describeFlagErrors(error: z.ZodError): string {
  const flag = (key: PropertyKey | undefined) => `--${String(key ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return error.issues.map((i) => `${flag(i.path[0])}: ${i.message}`).join('; ');
}

function supportedAnalyses(): string[] {
  return Object.entries(ANALYSES).filter(([, ok]) => ok).map(([k]) => k);
}

function portArg(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InputError(`${flag}: must be a port number (1-65535), got "${v}"`);
  return n;
}

async function launchDevServer(settings: Settings, port: number, uiPort: number) {
  mkdirSync(settings.dataDir, { recursive: true });
  const s = await startDevServer({
    dbFile: join(settings.dataDir, 'temporal.db'),
    logFile: join(settings.dataDir, 'temporal-dev-server.log'),
    port,
    uiPort,
    namespace: settings.namespace,
  });
  writePidFile(pidFileOf(settings.dataDir), s.pid);
  return s;
}

/** Starts the embedded dev server when the default local address does not answer. Returns the Web UI URL when known. */
async function ensureServer(settings: Settings, verbose: boolean): Promise<string | undefined> {
  if (await answers(settings.temporalAddress)) return settings.temporalAddress === DEFAULT_TEMPORAL_ADDRESS ? `http://127.0.0.1:${DEFAULT_UI_PORT}` : undefined;
  if (settings.temporalAddress !== DEFAULT_TEMPORAL_ADDRESS) {
    throw new InfrastructureError(`no Temporal server answers at ${settings.temporalAddress} (TEMPORAL_ADDRESS)`);
  }
  if (verbose) console.log(`no Temporal server on ${settings.temporalAddress}: starting the embedded dev server (crystalmath server stop ends it)`);
  const s = await launchDevServer(settings, Number(DEFAULT_TEMPORAL_ADDRESS.split(':')[1]), DEFAULT_UI_PORT);
  return s.uiUrl;
}

/**
 * Runs a worker inside this command for the duration of the run (unless --no-embedded-worker), so `run` works
 * on a bare machine. It shares the task queue with any other worker, which is harmless: either may serve a
 * task. (Asking the server whether a worker polls is no good guide: it lists pollers for minutes after they die.)
 */
async function embeddedWorker(settings: Settings, enabled: boolean): Promise<() => Promise<void>> {
  if (!enabled) return async () => undefined;
  // The embedded worker only speaks up for warnings: the command's own output is the result.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { worker, connection } = await createWorker({ settings });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
    await connection.close();
  };
}

function printResult(r: CalculationResult, json?: boolean): void {
  if (json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  const o = r.outputs;
  const fmt = (v: number | undefined, digits: number, unit: string) => (v === undefined ? 'n/a' : `${v.toFixed(digits)} ${unit}`);
  const lines = [
    `workflow id:      ${r.workflowId}`,
    `structure:        ${r.formula} (${r.calculation}, protocol ${r.protocol})`,
    `status:           ${r.ok ? 'ok' : 'FAILED'} (exit ${r.exitCode} ${r.exitName})`,
    `total energy:     ${fmt(o.totalEnergyRy, 8, 'Ry')} (${fmt(o.totalEnergyEv, 6, 'eV')})`,
    o.fermiEnergyEv !== undefined ? `Fermi energy:     ${fmt(o.fermiEnergyEv, 4, 'eV')}` : `HOMO / LUMO:      ${fmt(o.highestOccupiedEv, 4, 'eV')} / ${fmt(o.lowestUnoccupiedEv, 4, 'eV')}`,
    `band gap:         ${o.bandGapEv === undefined ? 'n/a (not derivable from this run)' : `${o.bandGapEv.toFixed(4)} eV (${GAP_SOURCES[o.bandGapSource ?? ''] ?? o.bandGapSource}; a mesh can miss the true band edges)`}`,
    `k-mesh, cutoffs:  ${r.inputSummary.kMesh.join('x')}, ecutwfc ${r.inputSummary.ecutwfc} Ry, ecutrho ${r.inputSummary.ecutrho} Ry`,
    `SCF iterations:   ${o.scfIterations ?? 'n/a'}   wall time: ${o.wallTimeSeconds ?? 'n/a'} s`,
    `files:            ${r.remoteFolder.path}`,
  ];
  console.log(lines.join('\n'));
}

class InfrastructureError extends Error {}

const GAP_SOURCES: Record<string, string> = {
  'stdout-homo-lumo': 'lowest unoccupied − highest occupied level on the k-points of this run',
  'xml-homo-lumo': 'lowest unoccupied − highest occupied level on the k-points of this run',
  'stdout-band-energies': 'from the band energies on the k-points of this run',
  'xml-band-energies': 'from the band energies on the k-points of this run',
};

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof InputError || e instanceof InvalidArgumentError || e instanceof StructureParseError) {
    console.error(`error: ${e.message}`);
    process.exitCode = EXIT.badInput;
  } else if (e instanceof InfrastructureError) {
    console.error(`error: ${e.message}`);
    process.exitCode = EXIT.infrastructure;
  } else {
    console.error(e);
    process.exitCode = EXIT.infrastructure;
  }
});
