/**
 * `crystalmath`: run and follow CrystalMath workflows from a shell.
 * Exit codes: 0 success; 1 the workflow failed (what it computed is still printed), or `server check` found
 * something missing; 2 bad input (the message names the flag or field); 3 Temporal unreachable or another infrastructure error; 4 still running.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import type { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { BuildError, WorkflowBuilder, type BuiltWorkflow } from './api/builder.ts';
import { StandardAnalysis } from './api/standard.ts';
import { ElasticAnalysis } from './api/elastic.ts';
import { toCSV, toJSON, toLatexTable } from './api/exporters.ts';
import { Workflow, WorkflowRunError, type ProgressUpdate } from './api/workflow.ts';
import { ClusterProfileError } from './clusters/loader.ts';
import { connectClient } from './api/connection.ts';
import { InputError } from './api/errors.ts';
import { resolveStructure } from './api/structures.ts';
import { gapCharacter } from './domain/analysis/bandgap.ts';
import { PROTOCOL_NAMES } from './domain/calculation.ts';
import { StrainSetSchema } from './domain/elastic/strains.ts';
import { MAGNETISM_MODES } from './domain/electronic-defaults.ts';
import { RECOVERY_STRATEGIES } from './domain/recovery/strategy.ts';
import { StructureParseError } from './domain/structure/errors.ts';
import { pidFileOf, readPidFile, removePidFile, startDevServer, writePidFile } from './devserver.ts';
import { stopProcessGroup } from './process.ts';
import { DEFAULT_TEMPORAL_ADDRESS, DEFAULT_UI_PORT, loadSettings, temporalConnectionOf, type Settings } from './settings.ts';
import { TemporalConnectionError, TemporalSettingsError, connectClientConnection, describeTemporalConnection, temporalAnswers, usesTls } from './temporal-connection.ts';
import { ObservabilitySettingsError } from './observability.ts';
import { DEFAULT_RETENTION_DAYS, ServerSetupRefusedError, checkServer, formatReport, initServer, type ServerSetupReport } from './server-setup.ts';
import type { PlanResult } from './workflows/plan.ts';
import { createWorker } from './worker.ts';

const EXIT = { ok: 0, failed: 1, badInput: 2, infrastructure: 3, running: 4 } as const;

/** How each `--analysis` becomes a chain of steps (`standard` and `elastic` are runners of their own). `build()` says "not supported yet" for steps not landed. */
const ANALYSES: Record<string, (b: WorkflowBuilder) => WorkflowBuilder> = {
  scf: (b) => b.scf(),
  relax: (b) => b.relax(),
  'relax-scf': (b) => b.relax().scf(),
  bands: (b) => b.scf().thenBands(),
  dos: (b) => b.scf().thenDos(),
  phonon: (b) => b.relax().thenPhonon(),
  gw: (b) => b.scf().withGw(),
  bse: (b) => b.scf().withGw().withBse(),
};

const AnalysisFlagsSchema = z.object({
  structure: z.string().min(1),
  analysis: z.enum(['standard', 'elastic', ...Object.keys(ANALYSES)] as [string, ...string[]]),
  protocol: z.enum(PROTOCOL_NAMES),
  pseudoFamily: z.string().min(1),
  magnetism: z.enum(MAGNETISM_MODES),
  cluster: z.string().min(1),
  partition: z.string().min(1).optional(),
  walltime: z.coerce.number().int().positive(),
  recovery: z.enum(RECOVERY_STRATEGIES),
  maxAttempts: z.coerce.number().int().min(1).max(20),
  json: z.boolean().optional(),
  embeddedWorker: z.boolean().optional(),
  // --analysis elastic
  strainMagnitude: z.coerce.number().pipe(StrainSetSchema.shape.strainMagnitude).optional(),
  numStrains: z.coerce.number().pipe(StrainSetSchema.shape.numStrains).optional(),
  clampedIon: z.boolean().optional(),
});
type AnalysisFlags = z.infer<typeof AnalysisFlagsSchema>;

const program = new Command('crystalmath').description('Durable computational-materials workflows on Temporal').showHelpAfterError();

function analysisOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-s, --structure <name|file>', 'built-in name (Si, MoS2, ...) or a CIF / POSCAR file')
    .option('-a, --analysis <name>', `analysis: standard (relax, scf, bands, DOS, figure), elastic (elastic tensor and moduli), ${Object.keys(ANALYSES).join(', ')}`, 'scf')
    .option('-p, --protocol <name>', `protocol: ${PROTOCOL_NAMES.join(', ')}`, 'moderate')
    .option('--pseudo-family <name>', 'pseudopotential family (a directory under the pseudo dir)', 'qe-debian-lda')
    .option('--magnetism <mode>', `spin polarisation: ${MAGNETISM_MODES.join(', ')} (auto: collinear for metals with open d / f shells)`, 'auto')
    .option('-c, --cluster <name>', 'cluster profile', 'local')
    .option('--partition <name>', 'partition of the cluster')
    .option('--walltime <seconds>', 'walltime limit of each calculation', '3600')
    .option('--recovery <strategy>', `error recovery: ${RECOVERY_STRATEGIES.join(', ')}`, 'adaptive')
    .option('--max-attempts <n>', 'attempts per calculation, repairs included', '5')
    .option('--json', 'machine-readable JSON on stdout')
    .option('--strain-magnitude <x>', 'elastic: the largest strain (default 0.01)')
    .option('--num-strains <n>', 'elastic: strained cells per strain component, even (default 4)')
    .option('--clamped-ion', 'elastic: clamped-ion constants (scf) instead of relaxed-ion ones');
}

analysisOptions(program.command('run').description('run an analysis and wait for its result, with live progress'))
  .option('--no-embedded-worker', 'do not run a worker inside this command (rely on `crystalmath worker` processes)')
  .action(async (flags) => {
    const f = parseFlags(AnalysisFlagsSchema, flags);
    if (f.analysis === 'standard') return runStandard(f);
    if (f.analysis === 'elastic') return runElastic(f);
    const wf = await buildFromFlags(f);
    const settings = loadSettings();
    const uiUrl = await ensureServer(settings, !f.json);
    const stopWorker = await embeddedWorker(settings, f.embeddedWorker !== false);
    try {
      if (!f.json) console.error(`workflow ${wf.workflowId}${uiUrl ? `: ${uiUrl}/namespaces/${settings.namespace}/workflows/${wf.workflowId}` : ''}`);
      const bar = new ProgressLine(!f.json);
      let result: PlanResult | undefined;
      try {
        for await (const u of wf.runAsync()) {
          bar.update(u);
          if (u.status === 'completed') result = u.intermediateResult as PlanResult;
        }
      } catch (e) {
        bar.done();
        if (e instanceof WorkflowRunError) {
          const partial = await Workflow.getResult(wf.workflowId).catch((err) => (err as WorkflowRunError).partialResult as PlanResult | undefined);
          if (partial) printPlanResult(partial, f.json);
          console.error(`error: ${e.message}`);
          process.exitCode = EXIT.failed;
          return;
        }
        throw e;
      }
      bar.done();
      printPlanResult(result!, f.json);
    } finally {
      await stopWorker();
    }
  });

analysisOptions(program.command('submit').description('start an analysis and print its workflow id (a worker must be running)')).action(async (flags) => {
  const f = parseFlags(AnalysisFlagsSchema, flags);
  await requireServer();
  const id =
    f.analysis === 'standard'
      ? await new StandardAnalysis({ protocol: f.protocol, magnetism: f.magnetism, cluster: f.cluster, recoveryStrategy: f.recovery, maxAttempts: f.maxAttempts, taskQueue: loadSettings().taskQueue }).submit(resolveStructure(f.structure))
      : f.analysis === 'elastic'
        ? await elasticRunner(f).submit(resolveStructure(f.structure))
        : await (await buildFromFlags(f)).submit();
  console.log(f.json ? JSON.stringify({ workflowId: id }) : id);
});

program
  .command('status <workflowId>')
  .description('state and progress of a workflow')
  .option('--json', 'print JSON')
  .action(async (id: string, o: { json?: boolean }) => {
    await requireServer();
    const s = await Workflow.getStatus(id);
    if (o.json) console.log(JSON.stringify(s, null, 2));
    else {
      console.log(`${s.workflowId}: ${s.state} ${s.progressPercent}%${s.stepName ? ` (${s.stepName}${s.message ? `: ${s.message}` : ''})` : ''}`);
      for (const e of s.errors) console.log(`  error: ${e}`);
    }
    process.exitCode = s.state === 'completed' ? EXIT.ok : s.state === 'running' ? EXIT.running : EXIT.failed;
  });

program
  .command('result <workflowId>')
  .description('the result of a workflow (waits while it runs)')
  .option('--json', 'print JSON')
  .action(async (id: string, o: { json?: boolean }) => {
    await requireServer();
    try {
      printPlanResult(await Workflow.getResult<PlanResult>(id), o.json);
    } catch (e) {
      if (e instanceof WorkflowRunError) {
        if (e.partialResult) printPlanResult(e.partialResult as PlanResult, o.json);
        console.error(`error: ${e.message}`);
        process.exitCode = EXIT.failed;
        return;
      }
      throw e;
    }
  });

program
  .command('list')
  .description('CrystalMath workflows, newest first (filter with a Temporal visibility query)')
  .option('-q, --query <query>', "e.g. \"CrystalMathFormula='Si2' AND ExecutionStatus='Running'\"")
  .option('-n, --limit <n>', 'at most this many', '20')
  .option('--json', 'print JSON')
  .action(async (o: { query?: string; limit: string; json?: boolean }) => {
    const limit = parseFlags(z.object({ limit: z.coerce.number().int().positive().max(10_000) }), { limit: o.limit }).limit;
    await requireServer();
    const client = await connectClient();
    try {
      const rows = [];
      const query = o.query ? `(${o.query}) AND CrystalMathFormula IS NOT NULL` : 'CrystalMathFormula IS NOT NULL';
      for await (const wf of client.workflow.list({ query })) {
        const sa = wf.searchAttributes as Record<string, unknown[] | undefined>;
        rows.push({
          workflowId: wf.workflowId,
          type: wf.type,
          status: wf.status.name,
          formula: sa.CrystalMathFormula?.[0],
          analysis: sa.CrystalMathAnalysis?.[0],
          cluster: sa.CrystalMathCluster?.[0],
          started: wf.startTime.toISOString(),
          // Calculations of release 0.2.0 on put their outcome in the memo (see src/workflows/patches.ts).
          exitCode: wf.memo?.exitCode as number | undefined,
          totalEnergyEv: wf.memo?.totalEnergyEv as number | null | undefined,
        });
        if (rows.length >= limit) break;
      }
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else {
        for (const r of rows) {
          const energy = typeof r.totalEnergyEv === 'number' ? `${r.totalEnergyEv.toFixed(4)} eV` : '';
          console.log(`${r.started}  ${String(r.status).padEnd(10)} ${String(r.formula).padEnd(10)} ${String(r.analysis).padEnd(12)} ${energy.padStart(16)}  ${r.workflowId}`);
        }
      }
    } finally {
      await client.connection.close();
    }
  });

program
  .command('cancel <workflowId>')
  .description('cancel a workflow (running jobs are stopped)')
  .action(async (id: string) => {
    await requireServer();
    await Workflow.cancel(id);
    console.log(`cancellation requested for ${id}`);
  });

program
  .command('export <workflowId>')
  .description('write the results of a finished workflow as JSON, CSV or a LaTeX table')
  .option('-f, --format <format>', 'json, csv or latex', 'json')
  .option('-o, --output <file>', 'file to write (default: stdout)')
  .action(async (id: string, o: { format: string; output?: string }) => {
    const { format } = parseFlags(z.object({ format: z.enum(['json', 'csv', 'latex']) }), { format: o.format });
    await requireServer();
    let result: PlanResult;
    try {
      result = await Workflow.getResult<PlanResult>(id);
    } catch (e) {
      if (!(e instanceof WorkflowRunError) || !e.partialResult) throw e;
      result = e.partialResult as PlanResult;
    }
    const text = format === 'json' ? toJSON(result) : format === 'csv' ? toCSV(result) : toLatexTable(result);
    if (o.output) writeFileSync(o.output, text);
    else process.stdout.write(text);
  });

const server = program
  .command('server')
  .description('the Temporal server: the embedded dev server (start / stop / status) and any server\'s set-up for CrystalMath (init / check)');
server
  .command('start')
  .option('--port <n>', 'gRPC port', '7233')
  .option('--ui-port <n>', 'Web UI port', String(DEFAULT_UI_PORT))
  .action(async (o) => {
    const settings = loadSettings();
    const { port, uiPort } = parseFlags(z.object({ port: portSchema, uiPort: portSchema }), o);
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
  const up = await temporalAnswers(temporalConnectionOf(settings));
  console.log(`${describeTemporalConnection(temporalConnectionOf(settings))}: ${up ? 'answering' : 'not answering'}`);
  if (!up) process.exitCode = EXIT.infrastructure;
});

server
  .command('init')
  .description('create the namespace (when absent) and register CrystalMath\'s search attributes; a no-op when all is there')
  .option('--retention-days <n>', 'retention of closed workflows when the namespace is created', String(DEFAULT_RETENTION_DAYS))
  .option('--json', 'machine-readable JSON on stdout')
  .action(async (o) => {
    const { retentionDays, json } = parseFlags(z.object({ retentionDays: z.coerce.number().int().min(1).max(3650), json: z.boolean().optional() }), o);
    const report = await withServerConnection((connection, namespace) => initServer(connection, namespace, { retentionDays }));
    printSetupReport(report, json);
  });
server
  .command('check')
  .description('say what CrystalMath needs on the server (namespace, search attributes) and what is missing; exit 1 if anything is')
  .option('--json', 'machine-readable JSON on stdout')
  .action(async (o) => {
    const { json } = parseFlags(z.object({ json: z.boolean().optional() }), o);
    const report = await withServerConnection((connection, namespace) => checkServer(connection, namespace));
    printSetupReport(report, json);
    if (!report.ready) process.exitCode = EXIT.failed;
  });

async function withServerConnection<T>(fn: (connection: Connection, namespace: string) => Promise<T>): Promise<T> {
  const settings = temporalConnectionOf(loadSettings());
  const connection = await connectClientConnection(settings);
  try {
    return await fn(connection, settings.namespace);
  } finally {
    await connection.close();
  }
}

function printSetupReport(report: ServerSetupReport, json?: boolean): void {
  if (json) console.log(JSON.stringify(report, null, 2));
  else for (const line of formatReport(report)) console.log(line);
}

program
  .command('worker')
  .description('run a worker on the task queue (until Ctrl-C); Worker Versioning via TEMPORAL_DEPLOYMENT_NAME / TEMPORAL_WORKER_BUILD_ID')
  .option('--log-format <format>', 'text or json (one JSON object per line; default $CRYSTALMATH_LOG_FORMAT, else text)')
  .option('--metrics-address <host:port>', 'serve Prometheus metrics on http://<host:port>/metrics (default $CRYSTALMATH_METRICS_ADDRESS; off when unset)')
  .action(async (o: { logFormat?: string; metricsAddress?: string }) => {
    // Flags win over the environment; both are validated by loadObservabilitySettings (errors name the variable).
    if (o.logFormat) process.env.CRYSTALMATH_LOG_FORMAT = o.logFormat;
    if (o.metricsAddress) process.env.CRYSTALMATH_METRICS_ADDRESS = o.metricsAddress;
    const { runWorker } = await import('./worker.ts');
    await runWorker();
  });

const portSchema = z.coerce.number().int().min(1).max(65535);

/** Validates flags with zod; errors name the flag as the user typed it: `--protocol: Invalid option ...`. */
function parseFlags<T extends z.ZodType>(schema: T, flags: unknown): z.infer<T> {
  const parsed = schema.safeParse(flags);
  if (parsed.success) return parsed.data;
  const flag = (key: PropertyKey | undefined) => `--${String(key ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  throw new InputError(parsed.error.issues.map((i) => `${flag(i.path[0])}: ${i.message}`).join('; '));
}

/** `--analysis standard`: the StandardAnalysis runner (relax → scf → bands → DOS, figure in the output dir). */
async function runStandard(f: AnalysisFlags): Promise<void> {
  const outputDir = runnerOutputDir(f);
  const runner = new StandardAnalysis({ protocol: f.protocol, magnetism: f.magnetism, cluster: f.cluster, recoveryStrategy: f.recovery, maxAttempts: f.maxAttempts, outputDir, taskQueue: loadSettings().taskQueue });
  const structure = resolveStructure(f.structure);
  await runRunner(f, 'standard analysis: relax → scf → bands → DOS (this takes a while)', async () => (await runner.run(structure)).data, (r) => {
    console.log(`workflow id:   ${r.workflowId}`);
    console.log(`structure:     ${r.formula}${r.spaceGroup ? `  ${r.spaceGroup.symbol} (${r.spaceGroup.number}), ${r.spaceGroup.crystalSystem}` : ''}`);
    console.log(`lattice a:     ${r.latticeBefore.a.toFixed(4)} Å → ${r.latticeAfter.a.toFixed(4)} Å (primitive cell)`);
    console.log(`total energy:  ${r.totalEnergyEv?.toFixed(6)} eV`);
    if (r.totalMagnetizationBohrMag !== undefined) console.log(`magnetization: ${magnetization(r)}`);
    console.log(`band gap:      ${r.bandGapEv?.toFixed(4) ?? 'n/a'} eV ${r.bandGapCharacter ?? ''} (VBM ${r.vbm?.where ?? '?'}, CBM ${r.cbm?.where ?? '?'}; ${r.bandGapSource})`);
    console.log(`CPU hours:     ${r.cpuHours.toFixed(4)}`);
    console.log(`files:         ${outputDir} (results.json, results.csv, results.tex, bands+DOS figure)`);
  });
}

/** Where `run --analysis standard|elastic` writes its files: ./crystalmath-<structure>-<analysis>. */
function runnerOutputDir(f: AnalysisFlags): string {
  return join(process.cwd(), `crystalmath-${f.structure.replace(/[^A-Za-z0-9._-]/g, '_')}-${f.analysis}`);
}

/** Runs an analysis runner with a server up and (unless --no-embedded-worker) a worker inside this command; prints JSON, or what `print` writes. */
async function runRunner<T>(f: AnalysisFlags, announce: string, run: () => Promise<T>, print: (result: T) => void): Promise<void> {
  const settings = loadSettings();
  await ensureServer(settings, !f.json);
  const stopWorker = await embeddedWorker(settings, f.embeddedWorker !== false);
  try {
    if (!f.json) console.error(announce);
    const result = await run();
    if (f.json) console.log(JSON.stringify(result, null, 2));
    else print(result);
  } finally {
    await stopWorker();
  }
}

/** `--analysis elastic`: the ElasticAnalysis runner (relax → strained cells → fit); results.json/csv/tex in the output dir. */
function elasticRunner(f: AnalysisFlags, outputDir?: string): ElasticAnalysis {
  return new ElasticAnalysis({
    protocol: f.protocol,
    magnetism: f.magnetism,
    cluster: f.cluster,
    pseudoFamily: f.pseudoFamily,
    recoveryStrategy: f.recovery,
    maxAttempts: f.maxAttempts,
    ...(f.strainMagnitude !== undefined ? { strainMagnitude: f.strainMagnitude } : {}),
    ...(f.numStrains !== undefined ? { numStrains: f.numStrains } : {}),
    ...(f.clampedIon ? { clampedIon: true } : {}),
    ...(outputDir ? { outputDir } : {}),
    taskQueue: loadSettings().taskQueue,
  });
}

async function runElastic(f: AnalysisFlags): Promise<void> {
  const outputDir = runnerOutputDir(f);
  const runner = elasticRunner(f, outputDir);
  const structure = resolveStructure(f.structure);
  await runRunner(f, 'elastic analysis: relax → strained cells → fit (this takes a while)', async () => (await runner.run(structure)).data, (r) => {
    const gpa = (v: number) => v.toFixed(1).padStart(8);
    console.log(`workflow id:     ${r.workflowId}`);
    console.log(`structure:       ${r.formula}  ${r.spaceGroup.symbol} (${r.spaceGroup.number}), ${r.spaceGroup.crystalSystem}; ${r.ions}-ion constants`);
    console.log(`strains:         ±${r.strainMagnitude} in ${r.numStrains} steps per component; ${r.fit.computedPoints} of ${r.fit.points} cells computed (k-mesh ${r.kMesh.join('x')}, ecutwfc ${r.ecutwfcRy} Ry)`);
    console.log('C (GPa, Voigt order xx yy zz yz xz xy):');
    for (const row of r.elasticTensorGpa) console.log(`  ${row.map(gpa).join('')}`);
    console.log(`fit residuals:   RMS ${r.fit.residuals.rmsGpa.toExponential(2)} GPa, max ${r.fit.residuals.maxAbsGpa.toExponential(2)} GPa`);
    console.log(`bulk modulus:    ${r.bulkModulusGpa.toFixed(2)} GPa (Voigt ${r.moduli.voigt.bulkGpa.toFixed(2)}, Reuss ${r.moduli.reuss.bulkGpa.toFixed(2)})`);
    console.log(`shear modulus:   ${r.shearModulusGpa.toFixed(2)} GPa (Voigt ${r.moduli.voigt.shearGpa.toFixed(2)}, Reuss ${r.moduli.reuss.shearGpa.toFixed(2)})`);
    console.log(`Young's modulus: ${r.youngsModulusGpa.toFixed(2)} GPa`);
    console.log(`Poisson ratio:   ${r.poissonRatio.toFixed(3)}`);
    const failing = r.stability.criteria.filter((c) => !c.holds).map((c) => c.condition);
    console.log(`Born stability:  ${r.stability.stable ? 'stable' : 'UNSTABLE'} (${r.stability.crystalSystem}${failing.length ? `; fails ${failing.join(', ')}` : ''})`);
    console.log(`files:           ${outputDir} (results.json, results.csv, results.tex)`);
  });
}

async function buildFromFlags(f: AnalysisFlags): Promise<BuiltWorkflow> {
  const builder = new WorkflowBuilder({ taskQueue: loadSettings().taskQueue }).fromStructure(resolveStructure(f.structure));
  return ANALYSES[f.analysis]!(builder)
    .withProtocol(f.protocol)
    .withPseudoFamily(f.pseudoFamily)
    .withMagnetism(f.magnetism)
    .withRecovery(f.recovery, { maxAttempts: f.maxAttempts })
    .onCluster(f.cluster, { partition: f.partition, resources: { walltimeHours: f.walltime / 3600 } })
    .named(f.analysis)
    .build();
}

async function requireServer(): Promise<void> {
  const settings = loadSettings();
  if (!(await temporalAnswers(temporalConnectionOf(settings)))) {
    throw new InfrastructureError(`no Temporal server answers at ${describeTemporalConnection(temporalConnectionOf(settings))} (start one with "crystalmath server start", or set TEMPORAL_ADDRESS / a profile)`);
  }
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
  const connection = temporalConnectionOf(settings);
  if (await temporalAnswers(connection)) return settings.temporalAddress === DEFAULT_TEMPORAL_ADDRESS ? `http://127.0.0.1:${DEFAULT_UI_PORT}` : undefined;
  if (settings.temporalAddress !== DEFAULT_TEMPORAL_ADDRESS || usesTls(connection)) {
    throw new InfrastructureError(`no Temporal server answers at ${describeTemporalConnection(connection)}`);
  }
  if (verbose) console.error(`no Temporal server on ${settings.temporalAddress}: starting the embedded dev server (crystalmath server stop ends it)`);
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
  // The embedded worker only speaks up for warnings: the command's own output is the result. (Its activity-only
  // queues, e.g. this host's, are expected to have no workflows: that warning is not one.)
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!entry.message.startsWith('No workflows registered')) process.stderr.write(`[${entry.level}] ${entry.message}\n`);
    }),
  });
  const { worker, connection } = await createWorker({ settings });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
    await connection.close();
  };
}

/** A one-line progress bar on stderr (a line per change when stderr is not a terminal). */
class ProgressLine {
  private last = '';
  constructor(private readonly enabled: boolean) {}
  update(u: ProgressUpdate): void {
    if (!this.enabled || u.status !== 'running') return;
    const width = 24;
    const filled = Math.round((u.percent / 100) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(u.percent).padStart(3)}%  ${u.message}`;
    if (line === this.last) return;
    this.last = line;
    if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(100).slice(0, 100)}`);
    else process.stderr.write(`${line}\n`);
  }
  done(): void {
    if (this.enabled && process.stderr.isTTY && this.last) process.stderr.write('\n');
  }
}

const GAP_SOURCES: Record<string, string> = {
  'stdout-homo-lumo': 'LUMO − HOMO on the k-points of this run',
  'xml-homo-lumo': 'LUMO − HOMO on the k-points of this run',
  'stdout-band-energies': 'from the band energies on the k-points of this run',
  'xml-band-energies': 'from the band energies on the k-points of this run',
};

function printPlanResult(result: PlanResult, json?: boolean): void {
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const fmt = (v: number | undefined, digits: number, unit: string) => (v === undefined ? 'n/a' : `${v.toFixed(digits)} ${unit}`);
  console.log(`workflow id:      ${result.workflowId}`);
  console.log(`structure:        ${result.formula}   status: ${result.ok ? 'ok' : 'FAILED'}`);
  for (const step of result.steps) {
    const r = result.results[step.name];
    console.log(`\n[${step.name}] ${step.status}${step.error ? `: ${step.error}` : ''}`);
    if (!r) continue;
    const o = r.outputs;
    console.log(`  exit:           ${r.exitCode} ${r.exitName} after ${r.attempts.length} attempt(s)${r.attempts.length > 1 ? ` (repairs: ${r.attempts.filter((a) => a.decision.handler).map((a) => a.decision.handler).join(', ')})` : ''}`);
    // (bands / nscf runs print no total energy: they do not iterate the density)
    if (o.totalEnergyRy !== undefined) console.log(`  total energy:   ${fmt(o.totalEnergyRy, 8, 'Ry')} (${fmt(o.totalEnergyEv, 6, 'eV')})`);
    if (o.fermiEnergyEv !== undefined) console.log(`  Fermi energy:   ${fmt(o.fermiEnergyEv, 4, 'eV')}`);
    else console.log(`  HOMO / LUMO:    ${fmt(o.highestOccupiedEv, 4, 'eV')} / ${fmt(o.lowestUnoccupiedEv, 4, 'eV')}`);
    if (o.totalMagnetizationBohrMag !== undefined) console.log(`  magnetization:  ${magnetization(o)}`);
    console.log(`  band gap:       ${o.bandGapEv === undefined ? 'n/a (not derivable from this run)' : `${o.bandGapEv.toFixed(4)} eV (${GAP_SOURCES[o.bandGapSource ?? ''] ?? o.bandGapSource}; a mesh can miss the band edges)`}`);
    if (o.pressureKbar !== undefined) console.log(`  pressure:       ${fmt(o.pressureKbar, 2, 'kbar')}`);
    const a = result.analyses?.[step.name];
    if (a?.bands) {
      const g = a.bands.gap;
      console.log(`  along the path: ${gapCharacter(g)}${g.gapEv !== undefined ? ` gap ${g.gapEv.toFixed(4)} eV` : ''} (VBM ${g.vbm?.where ?? '?'}, CBM ${g.cbm?.where ?? '?'}; ${a.kPath?.variant ?? ''} path, ${a.bands.nKpoints} k-points)`);
    }
    if (a?.dos) console.log(`  DOS:            ${a.dos.points} points${a.dos.fermiEnergyEv !== undefined ? `, Fermi energy ${a.dos.fermiEnergyEv.toFixed(4)} eV` : ''}${a.dos.lowdinCharges ? ', with projections' : ''}`);
    const kpoints = r.inputSummary.kMesh.every((n) => n === 0) ? 'k-point path' : `k-mesh ${r.inputSummary.kMesh.join('x')}`;
    console.log(`  k, cutoff:      ${kpoints}, ecutwfc ${r.inputSummary.ecutwfc} Ry`);
    console.log(`  files:          ${r.remoteFolder.path}`);
  }
}

/** A spin-polarised run's moment, per cell as pw.x prints it. */
function magnetization(m: { totalMagnetizationBohrMag?: number; absoluteMagnetizationBohrMag?: number }): string {
  const abs = m.absoluteMagnetizationBohrMag;
  return `${m.totalMagnetizationBohrMag?.toFixed(2)} μB/cell total${abs === undefined ? '' : `, ${abs.toFixed(2)} μB/cell absolute`}`;
}

class InfrastructureError extends Error {}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof InputError || e instanceof InvalidArgumentError || e instanceof StructureParseError || e instanceof BuildError || e instanceof ClusterProfileError || e instanceof TemporalSettingsError || e instanceof ObservabilitySettingsError) {
    console.error(`error: ${e.message}`);
    process.exitCode = EXIT.badInput;
  } else if (e instanceof WorkflowRunError) {
    console.error(`error: ${e.message}`);
    process.exitCode = EXIT.failed;
  } else if (e instanceof InfrastructureError || e instanceof TemporalConnectionError || e instanceof ServerSetupRefusedError) {
    console.error(`error: ${e.message}`);
    process.exitCode = EXIT.infrastructure;
  } else {
    console.error(e);
    process.exitCode = EXIT.infrastructure;
  }
});
