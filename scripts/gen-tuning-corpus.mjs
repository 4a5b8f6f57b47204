// Regenerates the TUNING items (ids "tune-…") of tests/fixtures/redaction-corpus.json: the set detectors may be tuned on.
// Deliberately unlike the held-out generator (tests/helpers/heldout-gen.ts): other seed, other key names, other wrappers.
// Usage: node scripts/gen-tuning-corpus.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('../tests/fixtures/redaction-corpus.json', import.meta.url);
let x = 0x7e57_c0de;
const rnd = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 4294967296; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const s = (alpha, n) => Array.from({ length: n }, () => alpha[Math.floor(rnd() * alpha.length)]).join('');
const HEX = '0123456789abcdef', AN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', W = AN + '_-', B64 = AN + '+/';
const hex = (n) => s(HEX, n), an = (n) => s(AN, n), w = (n) => s(W, n);
const uuid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
const items = [];
const add = (category, kind, secrets, text) => items.push({ id: `tune-${category}-${kind}-${items.length}`, category, kind, secrets, text });

// Prefixed provider tokens, each in two wrappers.
const tokens = {
  cloudflare_key: () => `v1.0-${hex(24)}-${hex(146)}`, digitalocean_token: () => `dop_v1_${hex(64)}`, heroku_key: () => `HRKU-AA${w(58)}`,
  flyio_token: () => `fo1_${w(43)}`, alibaba_key: () => `LTAI${an(20)}`, yandex_key: () => `AQVN${w(36)}`, vault_token: () => `hvs.${w(96)}`,
  aws_session_token: () => `FwoGZXIvYXdz${s(B64, 200)}`, onepassword_key: () => `A3-${s('ABCDEFGHJKLMNPQRSTVWXYZ23456789', 6)}-${s('ABCDEFGHJKLMNPQRSTVWXYZ23456789', 11)}-${s('ABCDEFGHJKLMNPQRSTVWXYZ23456789', 5)}-${s('ABCDEFGHJKLMNPQRSTVWXYZ23456789', 5)}-${s('ABCDEFGHJKLMNPQRSTVWXYZ23456789', 5)}`,
  doppler_token: () => `dp.st.${an(43)}`, planetscale_token: () => `pscale_tkn_${w(40)}`, pulumi_token: () => `pul-${hex(40)}`,
  age_key: () => `AGE-SECRET-KEY-1${s('QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L', 58)}`, atlassian_token: () => `ATATT3xFfGF0${w(180)}`,
  sourcegraph_token: () => `sgp_${hex(40)}`, sonar_token: () => `squ_${hex(40)}`, pypi_token: () => `pypi-AgEIcHlwaS5vcmc${w(64)}`,
  rubygems_token: () => `rubygems_${hex(48)}`, nuget_key: () => `oy2${s('abcdefghijklmnopqrstuvwxyz0123456789', 43)}`,
  postman_token: () => `PMAK-${hex(24)}-${hex(34)}`, grafana_token: () => `glsa_${an(32)}_${hex(8)}`, sentry_token: () => `sntryu_${hex(64)}`,
  newrelic_key: () => `NRAK-${s('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 27)}`, dynatrace_token: () => `dt0c01.${s('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 24)}.${s('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 64)}`,
  linear_key: () => `lin_api_${an(40)}`, notion_token: () => `ntn_${s('0123456789', 11)}${an(35)}`,
  sendgrid_key: () => `SG.${w(22)}.${w(43)}`, twilio_key: () => `SK${hex(32)}`, mailgun_key: () => `key-${hex(32)}`,
  brevo_key: () => `xkeysib-${hex(64)}-${an(16)}`, discord_webhook: () => `https://discord.com/api/webhooks/${s('0123456789', 18)}/${w(68)}`,
  discord_token: () => `${Buffer.from(String(3e17 + Math.floor(rnd() * 6e17))).toString('base64').replace(/=+$/, '')}.${w(6)}.${w(38)}`,
  shopify_token: () => `shpat_${hex(32)}`, square_token: () => `sq0atp-${w(22)}`, plaid_token: () => `access-sandbox-${uuid()}`,
  flutterwave_key: () => `FLWSECK_TEST-${hex(32)}-X`, facebook_token: () => `EAAB${an(180)}`, mapbox_token: () => `sk.eyJ1IjoiZGV2${w(30)}.${w(22)}`,
  airtable_token: () => `pat${an(14)}.${hex(64)}`, dropbox_token: () => `sl.${w(138)}`, contentful_token: () => `CFPAT-${w(43)}`,
  terraform_token: () => `${s('abcdefghijklmnopqrstuvwxyz0123456789', 14)}.atlasv1.${w(64)}`, telegram_bot_token: () => `${s('123456789', 10)}:AA${w(33)}`,
  mailchimp_key: () => `${hex(32)}-us${10 + Math.floor(rnd() * 20)}`,
  teams_webhook: () => `https://acme.webhook.office.com/webhookb2/${uuid()}@${uuid()}/IncomingWebhook/${hex(32)}/${uuid()}`,
  twitter_bearer: () => `${'A'.repeat(22)}${an(30)}%3D${an(40)}`,
};
const wrap = [(t) => `Here is the value we use in CI: ${t}`, (t) => `settings = {"upstream": "${t}"}`, (t) => `| staging | ${t} |`];
for (const [kind, make] of Object.entries(tokens)) for (let k = 0; k < 2; k++) { const t = make(); add('credential', kind, [t], pick(wrap)(t)); }
const b64jwt = Buffer.from(`eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOjQyfQ.${w(43)}`).toString('base64');
add('credential', 'jwt', [b64jwt], `jwt_b64 ${b64jwt}`);

// Secrets by context: other names and wrappers than the held-out set.
const secretVal = () => pick([an(32), hex(40), `${an(20)}/${an(19)}+`, uuid(), s('0123456789', 14), `${hex(8)}.${an(12)}.${hex(6)}`]);
const passVal = () => pick([`${pick(['Winter', 'Tiger', 'Maple'])}${s('0123456789', 3)}${pick(['!', '?', '#'])}`, s(AN + '!#%&*', 14)]);
const secretShapes = [
  (v) => `STRIPE_WEBHOOK_SECRET=${v}`, (v) => `export SERVICE_API_KEY='${v}'`, (v) => `  client_secret: ${v}`, (v) => `{"accessToken":"${v}"}`,
  (v) => `signing_key = "${v}"`, (v) => `[auth]\nmaster_key=${v}`, (v) => `<ApiKey>${v}</ApiKey>`, (v) => `<service token="${v}"/>`,
  (v) => `authToken := "${v}"`, (v) => `final String API_SECRET = "${v}";`, (v) => `System.setProperty("APP_TOKEN", "${v}");`,
  (v) => `config.ApiToken = "${v}";`, (v) => `$apiKey = "${v}";`, (v) => `"secret_key" => "${v}",`, (v) => `SECRET_TOKEN ?= ${v}`,
  (v) => `helm upgrade app --api-token ${v}`, (v) => `app --secret=${v}`, (v) => `X-Auth-Token: ${v}`, (v) => `Cookie: PHPSESSID=${v}`,
  (v) => `Authorization: ApiKey ${v}`, (v) => `Authorization: Token ${v}`,
];
for (const shape of secretShapes) { const v = secretVal(); add('credential', /^Authorization/.test(shape('')) ? 'auth_header' : 'secret', [v], shape(v)); }
const passShapes = [
  (v) => `DB_PASS=${v}`, (v) => `  password: "${v}"`, (v) => `{"adminPassword": "${v}"}`, (v) => `smtp_password = ${v}`,
  (v) => `<Password>${v}</Password>`, (v) => `<add key="ClearTextPassword" value="${v}" />`, (v) => `ds.setPassword("${v}");`,
  (v) => `$db_pass .= '${v}';`, (v) => `pwd := "${v}"`, (v) => `mysqldump --password ${v} shop`, (v) => `Server=db;Uid=app;Pwd=${v};`,
  (v) => `curl -u admin:${v} https://jenkins.local/job/x`, (v) => `REDIS_PASSWORD ::= ${v}`,
];
for (const shape of passShapes) { const v = passVal(); add('credential', /^mysqldump/.test(shape('')) ? 'secret' : 'password', [v], shape(v)); }
const kv = Buffer.from(passVal()).toString('base64');
add('credential', 'secret', [kv], `kind: Secret\ndata:\n  admin-password: ${kv}\n`);

// PII spellings.
add('pii', 'ssn', ['457 55 5462'], 'SSN on file: 457 55 5462');
add('pii', 'ssn', ['457.55.5462'], 'ssn 457.55.5462 verified');
add('pii', 'ssn', ['457555462'], 'Social Security Number: 457555462');
add('pii', 'file_path', ['\\\\nas01\\public\\'], 'see \\\\nas01\\public\\handbook.pdf');
add('pii', 'file_path', ['C:/Users/ana/'], 'log written to C:/Users/ana/logs/app.log');

// Benign text that looks close.
for (const t of [
  'API_TOKEN=<paste-token-here>', 'password: "{{ vault_password }}"', 'secret = ${SECRET}', 'token: xxxxxxxxxxxxxxxx',
  `"integrity": "sha512-${s(B64, 86)}=="`, `sha256:${hex(64)}  app.tar.gz`, `trace_id=${uuid()}`, `session_timeout = 30`,
  'Please choose a strong password and keep it secret.', 'The token bucket refills every second.', 'keyboard shortcut: Ctrl+K',
  'public_key = "ssh-ed25519"', `primary_key = "${an(20)}"`, 'passwordless login is enabled', '--password-stdin < pass.txt',
  `ETag: "${hex(32)}"`, 'auth_method = "oauth2"', 'git log --author="Sam" --since=2.weeks', 'let key = event.key;',
]) add('benign', 'none', [], t);

const corpus = JSON.parse(readFileSync(FILE, 'utf8'));
corpus.items = corpus.items.filter((i) => !i.id.startsWith('tune-')).concat(items);
writeFileSync(FILE, JSON.stringify(corpus, null, 1) + '\n');
console.log(`wrote ${items.length} tuning items`);
