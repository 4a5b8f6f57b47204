// Unit tests per syntax for secrets found by context, per provider format, and for the new PII spellings; benign look-alikes stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { nameClass, isKeyedSecret, entropy } from '../../../../policies/disclosure/context.js';
import { baseDisclosure } from '../../../helpers/corpus.js';

const r = compileDisclosure({ ...baseDisclosure, filters: { ...baseDisclosure.filters, redact_pii: true } });
const red = (t: string): string => r.redactText(t).text;
const KEY = 'q7Rz2Lm9Xw4Kp8Vt3Nb6Hc1Jd5Fg0Sa';
const PW = 'Tr0ub4dor&3x';

/** The secret is gone and only the secret: the text around it survives byte for byte. */
function gone(text: string, secret: string): void {
  const out = red(text);
  assert.ok(!out.includes(secret), `kept ${secret} in ${out}`);
  const [before, after] = text.split(secret);
  assert.ok(out.startsWith(before) && out.endsWith(after), `changed the surroundings: ${out}`);
}

test('name-led secrets in every paste syntax', () => {
  const cases: Array<[string, string]> = [
    [`API_KEY=${KEY}`, KEY], [`export SERVICE_TOKEN="${KEY}"`, KEY], [`  clientSecret: ${KEY}`, KEY], [`{"apiKey": "${KEY}"}`, KEY],
    [`api_key = "${KEY}"`, KEY], [`[svc]\nsecret=${KEY}`, KEY], [`<ApiKey>${KEY}</ApiKey>`, KEY], [`<svc token="${KEY}" />`, KEY],
    [`authToken := "${KEY}"`, KEY], [`String API_SECRET = "${KEY}";`, KEY], [`System.setProperty("X_TOKEN", "${KEY}");`, KEY],
    [`opts.ApiKey = "${KEY}";`, KEY], [`$token = '${KEY}';`, KEY], [`$token .= '${KEY}';`, KEY], [`'api_key' => '${KEY}',`, KEY],
    [`TOKEN := ${KEY}`, KEY], [`TOKEN ::= ${KEY}`, KEY], [`TOKEN ?= ${KEY}`, KEY], [`deploy --api-key ${KEY} --yes`, KEY],
    [`deploy --api-key=${KEY}`, KEY], [`X-Api-Key: ${KEY}`, KEY], [`Authorization: Token ${KEY}`, KEY], [`Authorization: ApiKey ${KEY}`, KEY],
    [`Cookie: lang=en; sessionid=${KEY}; theme=dark`, KEY], [`withToken("${KEY}")`, KEY],
    [`AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKQ`.replace('EXAMPLE', 'Q2w9Z1x'), 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ2w9Z1xKQ'],
    ['API_TOKEN=482917365019', '482917365019'], ['SESSION_TOKEN=8f3a2c.91bd7eAbcQ.55c0aa', '8f3a2c.91bd7eAbcQ.55c0aa'],
  ];
  for (const [text, secret] of cases) gone(text, secret);
});

test('name-led passwords, curl, connection strings, NuGet, Kubernetes data and base64 JWTs', () => {
  const cases: Array<[string, string]> = [
    [`DB_PASSWORD=${PW}`, PW], [`password: "${PW}"`, PW], [`<Password>${PW}</Password>`, PW], [`ds.setPassword("${PW}");`, PW],
    [`<add key="ClearTextPassword" value="${PW}" />`, PW], [`mysqldump --password ${PW} shop`, PW], [`Server=db;User Id=sa;Password=${PW};`, PW],
    [`curl -u admin:${PW} https://ci.example.org`, PW], ['my password is hunter22', 'hunter22'],
  ];
  for (const [text, secret] of cases) gone(text, secret);
  const b64 = Buffer.from(PW).toString('base64');
  gone(`apiVersion: v1\nkind: Secret\ndata:\n  db-password: ${b64}\n`, b64);
  const jwt = Buffer.from('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlX2hlcmVfMTIz').toString('base64');
  assert.match(red(`token ${jwt}`), /\[REDACTED:jwt\]/);
});

test('provider tokens are found without any name', () => {
  const hex = (n: number) => 'a1b2c3d4e5f60718'.repeat(12).slice(0, n);
  for (const [tok, kind] of [
    [`dop_v1_${hex(64)}`, 'digitalocean_token'], [`pul-${hex(40)}`, 'pulumi_token'], [`shpat_${hex(32)}`, 'shopify_token'],
    [`sgp_${hex(40)}`, 'sourcegraph_token'], [`rubygems_${hex(48)}`, 'rubygems_token'], [`glsa_${KEY}y_${hex(8)}`, 'grafana_token'],
    [`SG.${KEY.slice(0, 22)}.${KEY}${KEY.slice(0, 12)}`, 'sendgrid_key'], [`${hex(32)}-us21`, 'mailchimp_key'],
    [`7301945862:AA${KEY}zz`, 'telegram_bot_token'], [`k3f9x2m7q1w8z4.atlasv1.${KEY}${KEY}`, 'terraform_token'],
  ] as const) {
    const out = r.redactText(`value: ${tok} (rotated)`);
    assert.equal(out.text, `value: [REDACTED:${kind}] (rotated)`);
  }
});

test('SSN spellings, UNC and forward-slash Windows paths', () => {
  assert.equal(red('SSN 457 55 5462 on file'), 'SSN [REDACTED:ssn] on file');
  assert.equal(red('ssn: 457.55.5462'), 'ssn: [REDACTED:ssn]');
  assert.equal(red('Social Security Number: 457555462'), 'Social Security Number: [REDACTED:ssn]');
  assert.equal(red('order 457555462 shipped'), 'order 457555462 shipped');
  assert.ok(!red('copy to \\\\fs01\\finance$\\q3.xlsx').includes('fs01'));
  assert.ok(!red('wrote C:/Users/ana/logs/app.log').includes('ana'));
  assert.equal(red('see https://example.org/a/b'), 'see https://example.org/a/b');
});

test('benign look-alikes stay byte for byte', () => {
  for (const t of [
    'password = os.environ["DB_PASSWORD"]', 'const token = await getToken();', 'API_KEY=<your-key>', 'token: xxxx', 'secret: ${SECRET}',
    '<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />', 'max_tokens: 2048', 'token_count = 1532', 'public_key = "AAAAC3NzaC1lZDI1NTE5"',
    `request_id=3f2a9c1e-77b1-4c2d-9e8f-0a1b2c3d4e5f`, 'The password must be at least 12 characters.', 'keyboard: Ctrl+K',
    '"integrity": "sha512-Qw3rT5yU7iO9pA1sD3fG5hJ7kL9zX1cV3bN5mQ7wE9rT1yU3iO5pA7sD9fG1hJ3kL5zX7cV9bN1mQ3wE5rT7yU9iO1pA3sD5fG7hJ9kL1zA=="',
    'docker run -u 1000:1000 app', 'curl -u "$USER:$PASS" https://ci', 'tool --password-stdin', 'secretName: prod-db',
    'let key = event.key;', 'access_token_url = "https://example.org/oauth/token"', 'Authorization: Bearer <token>',
  ]) assert.equal(red(t), t);
});

test('name classes, entropy and value shapes', () => {
  assert.equal(nameClass('DB_PASSWORD'), 'password');
  assert.equal(nameClass('SecretAccessKey'), 'secret');
  assert.equal(nameClass('storageAccountKey'), 'secret');
  assert.equal(nameClass('password_min_length'), null);
  assert.equal(nameClass('kms_key_id'), null);
  assert.equal(nameClass('primaryKey'), null);
  assert.equal(nameClass('monkey'), null);
  assert.equal(nameClass('keyword'), null);
  assert.ok(isKeyedSecret(KEY) && isKeyedSecret('482917365019') && !isKeyedSecret('ClearTextPassword') && !isKeyedSecret('settings.SECRET_KEY'));
  assert.ok(entropy('aaaa') === 0 && entropy(KEY) > 4);
});

test('a stream redacts what buffered redaction does for context secrets', () => {
  const text = `config:\n  apiKey: ${KEY}\n  password: "${PW}"\nX-Api-Key: ${KEY}\ncurl -u bob:${PW} https://x\n`;
  const whole = red(text);
  for (const size of [1, 3, 7, 64]) {
    const s = r.createStreamRedactor('text', () => {});
    let out = '';
    for (let i = 0; i < text.length; i += size) out += s.push(Buffer.from(text.slice(i, i + size))).toString();
    out += s.end().toString();
    assert.equal(out, whole, `chunks of ${size}`);
  }
});
