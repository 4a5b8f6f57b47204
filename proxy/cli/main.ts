// CLI dispatcher: `lollms-guard <command> [...]`. Each command module exports run(argv) -> exit code.

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  serve: { summary: 'run the proxy with one or more policy files', load: () => import('./serve.js') },
  validate: { summary: 'check policy files (FILE... or --policy FILE...); every problem as file:line:col key: message', load: () => import('./validate.js') },
  'gen-key': { summary: 'print a new API key and the policy block with its sha256', load: async () => ({ run: (await import('./keys.js')).runGenKey }) },
  explain: { summary: 'show, stage by stage, what the policy decides for one request', load: () => import('./explain.js') },
  config: { summary: '"config show": the effective policy, secrets masked, with --origin per value', load: () => import('./config-show.js') },
  'verify-audit': { summary: 'check the audit hash chain; report the first edited, deleted or moved line', load: () => import('./verify-audit.js') },
  'hash-key': { summary: 'read a key on stdin, print its sha256', load: async () => ({ run: (await import('./keys.js')).runHashKey }) },
};

const HELP = `Usage: lollms-guard <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

Run "lollms-guard <command> --help" for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP + '\n');
    return cmd ? 0 : 2;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`lollms-guard: unknown command "${cmd}"\n\n${HELP}\n`);
    return 2;
  }
  return (await c.load()).run(rest);
}
