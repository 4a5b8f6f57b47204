// Whether a decision's rule names a key of config/policy.schema.json, walked segment by segment at run time
// (the PolicyKey type says the same at compile time; this catches what a cast or a stored audit line carries).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../dev/paths.js';

interface Node {
  type?: string;
  properties?: Record<string, Node>;
  additionalProperties?: boolean | Node;
}

const SCHEMA = JSON.parse(readFileSync(join(REPO_ROOT, 'config', 'policy.schema.json'), 'utf8')) as Node;

/** True when every segment of `rule` is a property (or a map's entry) of the schema, from the root. */
export function isSchemaKey(rule: string): boolean {
  if (rule === '') return false;
  let node: Node | undefined = SCHEMA;
  for (const seg of rule.split('.')) {
    if (!node || node.type !== 'object' || seg === '') return false;
    const named: Node | undefined = node.properties?.[seg];
    const each: Node | undefined = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
    node = named ?? each;
  }
  return node !== undefined;
}
