/**
 * pw.x output → a small, JSON-safe summary plus an exit code (numbers and names: ./exit-codes.ts, after
 * aiida-quantumespresso). Pure: the caller reads the files and passes their text.
 *
 * Inputs: stdout (required for anything but 302), the XML pw.x writes at the end (`data-file-schema.xml`, or an
 * older `data-file.xml`), the `CRASH` file pw.x writes when it stops on an error, the process exit status and
 * whether the scheduler/executor killed the job for walltime, and the input namelists if known.
 *
 * Read by ./pw-stdout.ts and ./pw-xml.ts, checked to be of one run by ./pw-cross-check.ts; the exit code decided by ./pw-exit-rules.ts (the rules, in order, are
 * on `decidePwExit`); the result assembled by ./pw-result.ts. The result keeps final values only (no
 * per-iteration arrays) so it can live in workflow history.
 */
import { pwExitByName } from './exit-codes.ts';
import { shorten } from './messages.ts';
import { stdoutXmlDisagreement } from './pw-cross-check.ts';
import { decidePwExit } from './pw-exit-rules.ts';
import { asCalculation, normaliseParameters } from './pw-parameters.ts';
import { pwResult, type PwResult } from './pw-result.ts';
import { guessCalculation, readPwStdout } from './pw-stdout.ts';
import { readPwXmlText } from './pw-xml.ts';

export type { PwCalculationType } from './pw-parameters.ts';
export type { PwBandGapSource, PwResult } from './pw-result.ts';
export type { PwCellBlock, PwPositionsBlock } from './pw-stdout.ts';

export interface PwParseInput {
  /** pw.x stdout; undefined → 302. */
  stdout: string | undefined;
  /** data-file-schema.xml (new) or data-file.xml text, if present. */
  xml?: string;
  /** CRASH file text if present. */
  crash?: string;
  /** pw.x process exit status if known. */
  processExitStatus?: number;
  /** The scheduler/executor killed it for walltime. */
  schedulerOutOfWalltime?: boolean;
  /** The input namelists if known, e.g. {control: {calculation: 'scf'}, electrons: {scf_must_converge: false}}; keys of any case. */
  parameters?: Record<string, Record<string, unknown>>;
  /** Whether an XML file is required (default true): a missing XML is then 303, as in aiida without `without_xml`. */
  expectXml?: boolean;
}

export function parsePwOutput(input: PwParseInput): PwResult {
  try {
    return parseUnsafe(input);
  } catch (err) {
    const info = pwExitByName('ERROR_UNEXPECTED_PARSER_EXCEPTION');
    return {
      exitCode: info.code,
      exitName: info.name,
      exitMessage: `${info.message} ${shorten(err instanceof Error ? err.message : String(err))}`,
      jobDone: false,
      warnings: [],
      errorMessages: [],
    };
  }
}

function parseUnsafe(input: PwParseInput): PwResult {
  if (input.stdout === undefined) {
    const info = pwExitByName('ERROR_OUTPUT_STDOUT_MISSING');
    return { exitCode: info.code, exitName: info.name, exitMessage: info.message, jobDone: false, warnings: [], errorMessages: [] };
  }
  const stdout = readPwStdout(input.stdout, input.crash);
  const read = readPwXmlText(input.xml, input.expectXml ?? true);
  const { problem, error } = read;
  if (error !== undefined) stdout.warnings.add(`XML: ${error}`);
  const filesDisagree = input.xml !== undefined && problem === undefined ? stdoutXmlDisagreement(stdout, read.xml) : undefined;
  // values of an XML that is not of this run are not combined with stdout's
  const xml = filesDisagree ? {} : read.xml;
  const parameters = normaliseParameters(input.parameters);
  // the parameters, else the XML's input echo, else what stdout looks like
  const calculation = asCalculation(parameters.get('control')?.get('calculation')) ?? xml.calculation ?? guessCalculation(stdout);
  const exit = decidePwExit({
    stdout,
    xml,
    xmlProblem: problem,
    ...(filesDisagree ? { filesDisagree } : {}),
    crashPresent: input.crash !== undefined,
    parameters,
    calculation,
    processExitStatus: input.processExitStatus,
    schedulerOutOfWalltime: input.schedulerOutOfWalltime,
  });
  if (exit.warning !== undefined) stdout.warnings.add(exit.warning);
  const info = pwExitByName(exit.name);
  return pwResult(exit.message ? { ...info, message: exit.message } : info, stdout, xml, calculation);
}
