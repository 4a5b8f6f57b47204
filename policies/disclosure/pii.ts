// Personal data in more spellings: SSNs with spaces, dots or none (the last only next to its name), UNC and forward-slash Windows paths.
import type { DetectorSpec } from './detectors.js';
import { isSsn } from './validators.js';

const r = String.raw;
const ssn = (v: string): boolean => isSsn(v.replace(/[ .]/g, '-').replace(/^([0-9]{3})([0-9]{2})([0-9]{4})$/, '$1-$2-$3'));

export const PII_DETECTORS: readonly DetectorSpec[] = [
  {
    kind: 'ssn', filter: 'redact_pii', priority: 60, validate: ssn, at: { re: '(?<![0-9A-Za-z.-])[0-9]{3}[ .][0-9]{2}[ .][0-9]{4}' },
    source: r`(?<![0-9A-Za-z.-])(?:[0-9]{3} [0-9]{2} [0-9]{4}|[0-9]{3}\.[0-9]{2}\.[0-9]{4})(?![0-9A-Za-z-]|\.[0-9])`,
  },
  {
    // Nine digits in a row are an SSN only next to its name.
    kind: 'ssn', filter: 'redact_pii', priority: 60, flags: 'i', groups: [1], validate: ssn,
    at: { re: '(?<![A-Za-z])(?:ssn|social)', flags: 'i' },
    source: r`(?<![A-Za-z])(?:ssn|social[ _-]?security(?:[ _-]?(?:number|num|no\.?))?)["']?[ \t]{0,3}(?:[:=#]|is)?[ \t]{0,3}["']?([0-9]{3}[ .-]?[0-9]{2}[ .-]?[0-9]{4})(?![0-9A-Za-z])`,
  },
  {
    kind: 'file_path', filter: 'remove_file_paths', priority: 30, at: { lit: ['\\\\'], notPrev: '[A-Za-z0-9:\\\\]' },
    source: r`(?<![A-Za-z0-9:\\])\\\\(?:\?\\[A-Za-z]:|[A-Za-z0-9._$-]{1,63}\\[A-Za-z0-9._$ -]{1,80})(?:\\[^\\/:*?"<>|\s]{1,128}){0,32}\\?`,
  },
  {
    kind: 'file_path', filter: 'remove_file_paths', priority: 30,
    source: r`(?<![A-Za-z0-9_])[A-Za-z]:(?:/[^\\/:*?"<>|\s]{1,128}){2,32}/?`,
    fast: { literal: ':/', prev: '[A-Za-z]', next: '[^/]', source: r`(?<=(?<![A-Za-z0-9_])([A-Za-z])):(?:/[^\\/:*?"<>|\s]{1,128}){2,32}/?` },
  },
];
