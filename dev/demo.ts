// `npm run demo`: the LoLLMS test double on a free port, the proxy in front of it, a demo key and a curl line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLollmsDouble } from './doubles/lollms-double.js';
import { startServer } from '../proxy/server.js';
import { newKey } from '../proxy/keys.js';
import { sha256Hex } from '../policies/auth.js';

const double = await startLollmsDouble();
const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-demo-'));
const key = newKey();
const policy = join(dir, 'demo.toml');
writeFileSync(
  policy,
  `# Demo policy written by npm run demo
[server]
host = "127.0.0.1"
port = 0
state_dir = "${join(dir, 'state')}"

[upstream]
url = "${double.url}"

[[security.authentication.keys]]
id = "demo"
sha256 = "${sha256Hex(key)}"
role = "user"
created = ${new Date().toISOString().slice(0, 10)}

[security.authorization.roles.user]
allow = ["POST /v1/chat/completions", "POST /v1/completions", "GET /v1/models", "POST /lollms_generate", "POST /api/chat"]
models = ["*"]
max_tokens = 1024

[logging.security]
output = "file"
file_path = "${join(dir, 'audit.log')}"

[monitoring]
metrics_enabled = false
`,
);
const server = await startServer({ files: [policy] });
const body = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Hello!' }], stream: true });
process.stdout.write(`
lollms-guard demo
  LoLLMS test double : ${double.url}
  proxy              : ${server.url}
  policy             : ${policy}
  audit log          : ${join(dir, 'audit.log')}
  demo key           : ${key}

Try it (streams NDJSON like legacy lollms-webui):

curl -N ${server.url}/v1/chat/completions -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' -d '${body}'

Without the key you get a 401 OpenAI-style error. Ctrl-C stops both.
`);
const stop = async (): Promise<void> => {
  await server.close();
  await double.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
