/** Where pw.x's files live inside a calculation's work directory (one place, used by staging and parsing). */
export const PW_FILES = {
  input: 'pw.in',
  stdout: 'pw.out',
  stderr: 'pw.err',
  crash: 'CRASH',
  outdir: 'out',
  prefix: 'pwscf',
} as const;

/** The XML pw.x writes at the end of a run (QE >= 6.4 schema). */
export const pwXmlPath = (prefix: string = PW_FILES.prefix) => `${PW_FILES.outdir}/${prefix}.save/data-file-schema.xml`;

export const pwCommand = (executable = 'pw.x') => [executable, '-in', PW_FILES.input];
