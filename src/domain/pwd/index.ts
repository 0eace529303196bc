/** PWD (Python Workflow Definition) interoperability: format, export, import, Python package text. Pure. */
export * from './format.ts';
export * from './extensions.ts';
export * from './export.ts';
export * from './import.ts';
export * from './python.ts';
