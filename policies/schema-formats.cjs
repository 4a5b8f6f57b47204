// The string formats config/policy.schema.json names, in plain CommonJS: the validator generated at build time
// (scripts/schema-validator.mjs -> dist/policies/policy-validator.cjs) requires this file, and the loader's fallback
// (policies/load.ts, a schema changed since the build) registers the same functions with ajv.
'use strict';

const DATE_OR_DATETIME = /^\d{4}-\d{2}-\d{2}([Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)?)?$/;

/** 2026-02-30 matches the pattern but is no day. */
function realDay(day) {
  const t = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === day;
}

module.exports = {
  /** A TOML date (2026-11-01) or date-time with an optional offset. */
  'date-or-datetime': { type: 'string', validate: (s) => DATE_OR_DATETIME.test(s) && realDay(s.slice(0, 10)) },
  /**
   * A pattern JavaScript compiles (without flags: the "u"-mode check is policies/semantic.ts's); "\\Z" after another
   * character, Python's end anchor, which JavaScript would read as a plain "Z", is refused (as ajv-formats did).
   */
  regex: { type: 'string', validate: (s) => { if (/[^\\]\\Z/.test(s)) return false; try { new RegExp(s); return true; } catch { return false; } } },
};
