// The operator patterns of the project's complete example policy (config/reference.toml), read from it once.
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { REFERENCE_POLICY } from '../../dev/paths.js';

interface PatternsDoc { security: { information_disclosure: { patterns: Record<string, string> } } }

export const REFERENCE_PATTERNS: Readonly<Record<string, string>> = Object.freeze(
  { ...(parse(readFileSync(REFERENCE_POLICY, 'utf8')) as unknown as PatternsDoc).security.information_disclosure.patterns },
);
