/**
 * What an operator sees of a worker: its log lines (text for a terminal, JSON lines for a log collector) and,
 * opt-in, the SDK runtime's Prometheus metrics. Every line an activity writes carries the workflow id, run id,
 * step and cluster (the SDK adds the workflow and activity ids; `activityLogInterceptor` adds step and cluster
 * from the activity's input), so one `jq 'select(.workflowId=="...")'` follows a calculation.
 */
import { z } from 'zod';
import { DefaultLogger, Runtime, type ActivityInterceptorsFactory, type LogEntry } from '@temporalio/worker';
import { clusterOf, LOCAL_CLUSTER, type ExecutorSpec } from './domain/jobs.ts';

export const ObservabilitySettingsSchema = z.object({
  logFormat: z.enum(['text', 'json']).default('text'),
  logLevel: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /** host:port for the Prometheus exporter (`/metrics`); absent: no metrics endpoint. */
  metricsAddress: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, e.g. 0.0.0.0:9464')
    .optional(),
});
export type ObservabilitySettings = z.infer<typeof ObservabilitySettingsSchema>;

/** From CRYSTALMATH_LOG_FORMAT, CRYSTALMATH_LOG_LEVEL, CRYSTALMATH_METRICS_ADDRESS; errors name the variable. */
export function loadObservabilitySettings(env: NodeJS.ProcessEnv = process.env): ObservabilitySettings {
  const raw = {
    logFormat: env.CRYSTALMATH_LOG_FORMAT || undefined,
    logLevel: env.CRYSTALMATH_LOG_LEVEL?.toUpperCase() || undefined,
    metricsAddress: env.CRYSTALMATH_METRICS_ADDRESS || undefined,
  };
  const parsed = ObservabilitySettingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const names: Record<string, string> = { logFormat: 'CRYSTALMATH_LOG_FORMAT', logLevel: 'CRYSTALMATH_LOG_LEVEL', metricsAddress: 'CRYSTALMATH_METRICS_ADDRESS' };
  throw new ObservabilitySettingsError(parsed.error.issues.map((i) => `${names[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '));
}

export class ObservabilitySettingsError extends Error {
  override name = 'ObservabilitySettingsError';
}

/** One JSON object per line on stdout: time, level, message, then the SDK's and CrystalMath's attributes. */
export function jsonLogLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const { sdkComponent, ...meta } = (entry.meta ?? {}) as Record<string, unknown>;
  return JSON.stringify({ time, level: entry.level, message: entry.message, ...(sdkComponent ? { component: sdkComponent } : {}), ...meta }, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
}

/**
 * Installs the SDK runtime once per process (logger and metrics cannot change afterwards): call before the
 * first connection. Returns the metrics URL when metrics are on.
 */
export function installRuntime(o: ObservabilitySettings): { metricsUrl?: string } {
  const logger = o.logFormat === 'json' ? new DefaultLogger(o.logLevel, (entry) => process.stdout.write(`${jsonLogLine(entry)}\n`)) : new DefaultLogger(o.logLevel);
  Runtime.install({
    logger,
    telemetryOptions: o.metricsAddress ? { metrics: { prometheus: { bindAddress: o.metricsAddress } } } : undefined,
  });
  return o.metricsAddress ? { metricsUrl: `http://${o.metricsAddress.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}/metrics` } : {};
}

/** Step and cluster of an activity call, read from its first argument (every CrystalMath activity input has them or implies them). */
export function logFieldsOf(args: readonly unknown[]): { step?: string; cluster: string } {
  const a = (args[0] ?? {}) as { step?: unknown; cluster?: unknown; executor?: unknown; input?: { executor?: ExecutorSpec }; artifactPrefix?: unknown };
  const step = typeof a.step === 'string' ? a.step : typeof a.artifactPrefix === 'string' ? a.artifactPrefix.split('/').pop() : undefined;
  const cluster = typeof a.cluster === 'string' ? a.cluster : a.input?.executor ? clusterOf(a.input.executor) : LOCAL_CLUSTER;
  return step === undefined ? { cluster } : { step, cluster };
}

/** Adds `step` and `cluster` to every `log.*` line of an activity (see `logFieldsOf`). */
export const activityLogInterceptor: ActivityInterceptorsFactory = () => {
  let fields: ReturnType<typeof logFieldsOf> = { cluster: LOCAL_CLUSTER };
  return {
    inbound: {
      execute: (input, next) => {
        fields = logFieldsOf(input.args);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attrs, next) => next({ ...attrs, ...fields }),
    },
  };
};
