// HELD-OUT redaction set: generated from the providers' documented token formats, written before any tuning; never edited to fit a miss.
// Built differently from the tuning corpus on purpose: its own PRNG and seed, its own surrounding text (chat questions, logs,
// tables, code review quotes), its own key names and syntaxes. Measured rates come from here; see docs/redaction.md.

export interface HeldItem { id: string; category: 'credential' | 'pii' | 'benign'; kind: string; syntax: string; secrets: string[]; text: string }

/** mulberry32: small, seedable, stable across Node versions. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = '0123456789abcdef', DIG = '0123456789', UP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', LOW = 'abcdefghijklmnopqrstuvwxyz';
const ALNUM = UP + LOW + DIG, W = ALNUM + '_-', B64 = ALNUM + '+/', BECH = 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L';

/** Random helpers and the provider formats, shared by the held-out and the gitleaks-style sets (each with its own seed). */
export function formatKit(seed: number) {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const s = (alpha: string, n: number): string => { let o = ''; for (let i = 0; i < n; i++) o += alpha[int(alpha.length)]; return o; };
  const hex = (n: number) => s(HEX, n), alnum = (n: number) => s(ALNUM, n), w = (n: number) => s(W, n), dig = (n: number) => s(DIG, n);
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  const b64 = (t: string) => Buffer.from(t).toString('base64');

  // ---- Provider tokens with a documented prefix/shape (facts: gitleaks config/gitleaks.toml, detect-secrets plugins, vendor docs).
  const providers: Array<[string, () => string]> = [
    ['cloudflare', () => `v1.0-${hex(24)}-${hex(146)}`],
    ['digitalocean', () => `${pick(['dop', 'doo', 'dor'])}_v1_${hex(64)}`],
    ['heroku', () => `HRKU-AA${w(58)}`],
    ['flyio', () => pick([`fo1_${w(43)}`, `fm2_${s(B64, 130)}`])],
    ['alibaba', () => `LTAI${alnum(20)}`],
    ['yandex', () => pick([`AQVN${w(37)}`, `t1.${w(24)}.${w(86)}`])],
    ['vault', () => pick([`hvs.${w(100)}`, `hvb.${w(150)}`])],
    ['terraform', () => `${s(LOW + DIG, 14)}.atlasv1.${w(66)}`],
    ['onepassword', () => pick([`A3-${s(UP + DIG, 6)}-${s(UP + DIG, 11)}-${s(UP + DIG, 5)}-${s(UP + DIG, 5)}-${s(UP + DIG, 5)}`, `ops_eyJ${s(B64, 280)}`])],
    ['doppler', () => `dp.${pick(['pt', 'st', 'ct', 'sa', 'scim', 'audit'])}.${alnum(43)}`],
    ['planetscale', () => `pscale_${pick(['tkn', 'oauth', 'pw'])}_${w(43)}`],
    ['pulumi', () => `pul-${hex(40)}`],
    ['age', () => `AGE-SECRET-KEY-1${s(BECH, 58)}`],
    ['atlassian', () => `ATATT3${w(186)}`],
    ['bitbucket', () => `ATBB${alnum(32)}`],
    ['sourcegraph', () => pick([`sgp_${hex(40)}`, `sgp_${hex(16)}_${hex(40)}`, `sgp_local_${hex(40)}`])],
    ['sonar', () => `${pick(['squ', 'sqp', 'sqa'])}_${hex(40)}`],
    ['pypi', () => `pypi-AgEIcHlwaS5vcmc${w(80)}`],
    ['rubygems', () => `rubygems_${hex(48)}`],
    ['nuget', () => `oy2${s(LOW + DIG, 43)}`],
    ['postman', () => `PMAK-${hex(24)}-${hex(34)}`],
    ['grafana', () => pick([`glc_${s(B64, 60)}`, `glsa_${alnum(32)}_${hex(8)}`, `eyJrIjoi${alnum(80)}`])],
    ['sentry', () => pick([`sntryu_${hex(64)}`, `sntrys_eyJpYXQiO${s(B64, 60)}LCJyZWdpb25fdXJs${s(B64, 40)}_${s(B64, 43)}`])],
    ['newrelic', () => pick([`NRAK-${s(UP + DIG, 27)}`, `NRII-${w(32)}`, `NRJS-${hex(19)}`])],
    ['dynatrace', () => `dt0c01.${s(UP + DIG, 24)}.${s(UP + DIG, 64)}`],
    ['linear', () => pick([`lin_api_${alnum(40)}`, `lin_oauth_${hex(64)}`])],
    ['notion', () => pick([`ntn_${dig(11)}${alnum(35)}`, `secret_${alnum(43)}`])],
    ['sendgrid', () => `SG.${w(22)}.${w(43)}`],
    ['twilio', () => `SK${hex(32)}`],
    ['mailgun', () => `key-${hex(32)}`],
    ['mailchimp', () => `${hex(32)}-us${1 + int(9)}${int(10)}`],
    ['brevo', () => `${pick(['xkeysib', 'xsmtpsib'])}-${hex(64)}-${alnum(16)}`],
    ['telegram', () => `${1 + int(9)}${dig(9)}:AA${w(33)}`],
    ['discord', () => pick([`${b64(String(1e17 + int(9e17))).replace(/=+$/, '')}.${w(6)}.${w(38)}`, `https://discord.com/api/webhooks/${dig(19)}/${w(68)}`])],
    ['teams_webhook', () => `https://${s(LOW, 8)}.webhook.office.com/webhookb2/${uuid()}@${uuid()}/IncomingWebhook/${hex(32)}/${uuid()}`],
    ['shopify', () => `${pick(['shpat', 'shpca', 'shppa', 'shpss'])}_${hex(32)}`],
    ['square', () => pick([`EAAA${w(60)}`, `sq0atp-${w(22)}`, `sq0csp-${w(43)}`])],
    ['plaid', () => `access-${pick(['sandbox', 'development', 'production'])}-${uuid()}`],
    ['flutterwave', () => `${pick(['FLWSECK_TEST', 'FLWSECK'])}-${hex(32)}-X`],
    ['facebook', () => `EAA${pick(['B', 'C', 'G', 'M'])}${alnum(160)}`],
    ['twitter', () => `${'A'.repeat(22)}${alnum(24)}%2F${alnum(20)}%3D${alnum(40)}`],
    ['mapbox', () => `${pick(['pk', 'sk'])}.eyJ1Ijoi${s(W, 40)}.${w(22)}`],
    ['airtable', () => `pat${alnum(14)}.${hex(64)}`],
    ['dropbox', () => `sl.${w(140)}`],
    ['contentful', () => `CFPAT-${w(43)}`],
    ['databricks', () => `dapi${hex(32)}`],
  ];
  return { rnd, int, pick, s, hex, alnum, w, dig, uuid, b64, providers };
}

export function heldOut(seed = 0x1dd0_2026): HeldItem[] {
  const { int, pick, s, hex, alnum, w, dig, uuid, b64, providers } = formatKit(seed);
  const items: HeldItem[] = [];
  const add = (category: HeldItem['category'], kind: string, syntax: string, secrets: string[], text: string) =>
    items.push({ id: `held-${category}-${kind}-${items.length}`, category, kind, syntax, secrets, text });
  const around: Array<(t: string, p: string) => [string, string]> = [
    (t) => ['prose', `I rotated it yesterday but the old one still works: ${t}`],
    (t, p) => ['env', `${p.toUpperCase()}_CREDENTIAL=${t}`],
    (t, p) => ['json', `{"provider":"${p}","value":"${t}","rotated":false}`],
    (t, p) => ['code', `client = ${p[0].toUpperCase()}${p.slice(1)}Client("${t}")`],
    (t) => ['log', `2025-03-02T11:22:33Z WARN upstream refused credential ${t} (401)`],
    (t) => ['yaml', `auth:\n  value: ${t}\n  scope: read`],
    (t) => ['table', `| prod | ${t} | rotated 2025-01 |`],
    (t) => ['quote', `> can you tell why \`${t}\` gets a 403?`],
  ];
  for (const [kind, make] of providers) {
    for (let k = 0; k < 4; k++) {
      const tok = make();
      const [syntax, text] = pick(around)(tok, kind);
      add('credential', kind, syntax, [tok], text);
    }
  }

  // ---- Secrets with no prefix, found only by the name they are given, in every syntax people paste.
  const values: Record<string, () => string> = {
    aws_secret: () => s(ALNUM + '/+', 40),
    aws_session: () => `IQoJb3JpZ2luX2Vj${s(B64, 340)}`,
    azure_storage: () => `${s(B64, 86)}==`,
    api_hex: () => hex(pick([32, 40, 64])),
    api_alnum: () => alnum(pick([24, 32, 48])),
    api_b64url: () => w(43),
    uuid_token: () => uuid(),
    dotted: () => `${hex(6)}.${alnum(10)}.${hex(8)}`,
    digits: () => dig(12),
    password: () => pick([`${pick(['Summer', 'Falcon', 'Orchid', 'Granite'])}${dig(4)}${pick(['!', '#', '$', '%', '&'])}`, s(ALNUM + '!@#%^*-_', 16), `${s(LOW, 5)}-${s(LOW, 5)}-${dig(3)}`]),
  };
  const names: Record<string, string[]> = {
    aws_secret: ['AWS_SECRET_ACCESS_KEY', 'aws_secret_access_key', 'SecretAccessKey', 'secretAccessKey', 'AWS_SECRET_KEY'],
    aws_session: ['AWS_SESSION_TOKEN', 'aws_session_token', 'SessionToken'],
    azure_storage: ['AZURE_STORAGE_KEY', 'storageAccountKey', 'AZURE_STORAGE_ACCOUNT_KEY', 'primary_access_key'],
    api_hex: ['DD_API_KEY', 'api_key', 'SENTRY_AUTH_TOKEN', 'webhookSecret', 'CLIENT_SECRET'],
    api_alnum: ['TWITCH_CLIENT_SECRET', 'apiKey', 'x_api_key', 'SERVICE_TOKEN', 'app_secret', 'COINBASE_API_SECRET'],
    api_b64url: ['SIGNING_KEY', 'refresh_token', 'ENCRYPTION_KEY', 'OKTA_API_TOKEN', 'CLOUDFLARE_API_TOKEN'],
    uuid_token: ['HEROKU_API_KEY', 'SNYK_TOKEN', 'license_key', 'authToken'],
    dotted: ['SESSION_TOKEN', 'access_token', 'partnerToken'],
    digits: ['API_TOKEN', 'pin_secret', 'bot_token'],
    password: ['password', 'DB_PASSWORD', 'dbPassword', 'passwd', 'MYSQL_ROOT_PASSWORD', 'smtpPassword', 'keystore_password', 'passphrase', 'PGPASSWORD', 'admin_pwd'],
  };
  const camel = (n: string) => n.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const pascal = (n: string) => { const c = camel(n); return c[0].toUpperCase() + c.slice(1); };
  const kebab = (n: string) => n.replace(/([a-z])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase();
  const upper = (n: string) => n.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
  const syntaxes: Array<[string, (n: string, v: string) => string]> = [
    ['env', (n, v) => `# staging\n${upper(n)}=${v}\nLOG_LEVEL=info`],
    ['export', (n, v) => `export ${upper(n)}="${v}"`],
    ['yaml', (n, v) => `service:\n  ${camel(n)}: ${v}\n  retries: 3`],
    ['yaml_quoted', (n, v) => `  ${n}: '${v}'`],
    ['json', (n, v) => `{"name": "billing", "${camel(n)}": "${v}", "enabled": true}`],
    ['toml', (n, v) => `[service]\n${n.toLowerCase()} = "${v}"`],
    ['ini', (n, v) => `[default]\nregion = eu-west-1\n${n.toLowerCase()} = ${v}`],
    ['xml_element', (n, v) => `<config>\n  <${pascal(n)}>${v}</${pascal(n)}>\n</config>`],
    ['xml_attribute', (n, v) => `<connection host="db1" ${camel(n)}="${v}" />`],
    ['nuget', (_n, v) => `<packageSourceCredentials><feed><add key="Username" value="ci" /><add key="ClearTextPassword" value="${v}" /></feed></packageSourceCredentials>`],
    ['go', (n, v) => `\t${camel(n)} := "${v}"`],
    ['java', (n, v) => `    private static final String ${upper(n)} = "${v}";`],
    ['java_setter', (n, v) => `System.setProperty("${upper(n)}", "${v}");`],
    ['csharp', (n, v) => `options.${pascal(n)} = "${v}";`],
    ['php', (n, v) => `$${camel(n)} = '${v}';`],
    ['php_array', (n, v) => `    '${n.toLowerCase()}' => '${v}',`],
    ['php_concat', (n, v) => `$${camel(n)} .= "${v}";`],
    ['python', (n, v) => `${n.toLowerCase()} = "${v}"`],
    ['python_kwarg', (n, v) => `conn = connect(host="db", ${n.toLowerCase()}="${v}")`],
    ['js', (n, v) => `const ${camel(n)} = '${v}';`],
    ['js_object', (n, v) => `  ${camel(n)}: "${v}",`],
    ['makefile', (n, v) => `${upper(n)} ${pick([':=', '::=', '?='])} ${v}`],
    ['cli_flag', (n, v) => `./deploy --region eu --${kebab(n)} ${v} --yes`],
    ['cli_flag_eq', (n, v) => `tool login --${kebab(n)}=${v}`],
    ['dockerfile', (n, v) => `ENV ${upper(n)}=${v}`],
    ['properties', (n, v) => `app.${kebab(n).replace(/-/g, '.')}=${v}`],
  ];
  for (const [vk, make] of Object.entries(values)) {
    for (const [syntax, fmt] of syntaxes) {
      if (vk === 'password' ? false : syntax === 'nuget') continue;
      const v = make();
      add('credential', vk, syntax, [v], fmt(pick(names[vk]), v));
    }
  }
  // Headers, connection strings, curl, Kubernetes, encoded JWTs.
  const jwt = () => `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${b64(`{"sub":"${dig(8)}","iat":${1700000000 + int(1e7)}}`).replace(/=+$/, '')}.${w(43)}`;
  for (let k = 0; k < 6; k++) {
    const tok = w(40), user = pick(['deploy', 'svc-ci', 'admin']), pass = values.password();
    add('credential', 'http_header', 'authorization_bearer', [tok], `GET /v1/items HTTP/1.1\nHost: api.internal\nAuthorization: Bearer ${tok}`);
    add('credential', 'http_header', 'authorization_token', [tok], `Authorization: Token ${tok}`);
    const basic = b64(`${user}:${pass}`);
    add('credential', 'http_header', 'authorization_basic', [basic], `authorization: Basic ${basic}`);
    add('credential', 'http_header', 'x_api_key', [tok], `X-Api-Key: ${tok}`);
    add('credential', 'http_header', 'cookie', [tok], `Cookie: theme=dark; sessionid=${tok}; lang=en`);
    add('credential', 'http_header', 'set_cookie', [tok], `Set-Cookie: auth_token=${tok}; Path=/; HttpOnly; Secure`);
    add('credential', 'curl', 'curl_user', [pass], `curl -s -u ${user}:${pass} https://ci.example.org/api/json`);
    add('credential', 'curl', 'curl_header', [tok], `curl -H "X-Auth-Token: ${tok}" https://api.example.org/v1/me`);
    add('credential', 'connection_string', 'ado', [pass], `Server=tcp:db01,1433;Database=orders;User Id=app;Password=${pass};Encrypt=True;`);
    add('credential', 'connection_string', 'url', [pass], `DATABASE_URL=postgres://app:${pass}@db01:5432/orders`);
    const acct = values.azure_storage();
    add('credential', 'connection_string', 'azure_storage', [acct], `DefaultEndpointsProtocol=https;AccountName=acme${dig(3)};AccountKey=${acct};EndpointSuffix=core.windows.net`);
    const sas = `${s(B64, 43)}=`;
    add('credential', 'connection_string', 'azure_servicebus', [sas], `Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${sas}`);
    const kp = values.password(), kt = w(32);
    add('credential', 'kubernetes', 'secret_data', [b64(kp), b64(kt)], `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-${s(LOW, 4)}\ntype: Opaque\ndata:\n  db-password: ${b64(kp)}\n  api-token: ${b64(kt)}\n`);
    const j = jwt();
    add('credential', 'jwt_base64', 'base64', [b64(j)], `token (base64): ${b64(j)}`);
  }

  // ---- PII.
  const ssn = () => { let a = 1 + int(899); if (a === 666) a = 667; return [String(a).padStart(3, '0'), String(1 + int(99)).padStart(2, '0'), String(1 + int(9999)).padStart(4, '0')]; };
  for (let k = 0; k < 8; k++) {
    const [a, g, n] = ssn();
    add('pii', 'ssn', 'dashed', [`${a}-${g}-${n}`], `Patient record: SSN ${a}-${g}-${n}, DOB 1984-03-12.`);
    add('pii', 'ssn', 'spaced', [`${a} ${g} ${n}`], `social security number: ${a} ${g} ${n}`);
    add('pii', 'ssn', 'plain', [`${a}${g}${n}`], `{"employee": 4411, "ssn": "${a}${g}${n}"}`);
    add('pii', 'ssn', 'dotted', [`${a}.${g}.${n}`], `SSN: ${a}.${g}.${n}`);
  }
  const users = ['mgarcia', 'j.smith', 'akowalski', 'liwei', 'tbrown'];
  for (let k = 0; k < 6; k++) {
    const u = pick(users), srv = `fs${dig(2)}`, share = pick(['finance$', 'hr', 'builds']);
    add('pii', 'file_path', 'windows', [`${u}\\AppData`], `Error loading C:\\Users\\${u}\\AppData\\Roaming\\Acme\\settings.json`);
    add('pii', 'file_path', 'windows_forward', [`${u}/Documents`], `opened C:/Users/${u}/Documents/Q3-plan.docx`);
    add('pii', 'file_path', 'unc', [`${srv}\\${share}`], `Copy it to \\\\${srv}\\${share}\\2025\\report.xlsx before Friday.`);
    add('pii', 'file_path', 'windows_spaces', [`Acme Corp\\Billing`], `Installed to D:\\Program Files\\Acme Corp\\Billing\\bin\\agent.exe`);
  }
  for (let k = 0; k < 4; k++) {
    const mod = pick(['billing', 'orders', 'auth']), ln = 10 + int(400);
    add('pii', 'stack_trace', 'python', [`/opt/${mod}/service/handlers.py", line ${ln}`],
      `Traceback (most recent call last):\n  File "/opt/${mod}/service/handlers.py", line ${ln}, in post\n    raise ValueError(msg)\nValueError: bad input`);
    add('pii', 'stack_trace', 'java', [`com.acme.${mod}.Service.handle(Service.java:${ln})`],
      `Exception in thread "main" java.lang.IllegalStateException: closed\n\tat com.acme.${mod}.Service.handle(Service.java:${ln})\n\tat com.acme.${mod}.Main.main(Main.java:12)`);
    add('pii', 'stack_trace', 'dotnet', [`Service.cs:line ${ln}`],
      `System.NullReferenceException: Object reference not set to an instance of an object.\n   at Acme.${mod}.Service.Run(String id) in C:\\build\\src\\Service.cs:line ${ln}`);
    add('pii', 'stack_trace', 'go', [`${mod}/server.go:${ln}`],
      `panic: runtime error: index out of range\n\ngoroutine 7 [running]:\nmain.handle(0xc000010000)\n\t/home/ci/work/${mod}/server.go:${ln} +0x1d\n`);
    add('pii', 'stack_trace', 'node', [`index.js:${ln}:17`],
      `TypeError: Cannot read properties of undefined (reading 'id')\n    at Router.handle (/usr/src/app/node_modules/${mod}/index.js:${ln}:17)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`);
  }
  for (let k = 0; k < 4; k++) {
    const mail = `${pick(users).replace('.', '')}${dig(2)}@${pick(['example.org', 'acme.co.uk', 'mail.test'])}`;
    add('pii', 'email', 'prose', [mail], `Please reach me at ${mail} after 5pm.`);
    add('pii', 'internal_ip', 'log', [`10.${int(255)}.${int(255)}.${1 + int(250)}`], `upstream timed out: 10.${int(255)}.${int(255)}.${1 + int(250)}:8443`);
  }
  for (const it of items) if (it.kind === 'internal_ip') it.secrets = [it.text.slice(it.text.indexOf('10.'), it.text.lastIndexOf(':'))];

  // ---- Benign: must come out byte for byte.
  const benign: Array<[string, string]> = [
    ['code', 'password = os.environ.get("DB_PASSWORD")'], ['code', 'const token = await getToken(req.headers);'],
    ['code', 'if (!apiKey) throw new Error("missing api key");'], ['code', 'def check_password(self, raw_password):'],
    ['code', 'String password = request.getParameter("password");'], ['code', '$token = $request->header(\'X-Token\');'],
    ['code', 'token, err := auth.Token(ctx)'], ['code', 'secretKeyRef:\n  name: db-credentials\n  key: password'],
    ['code', 'self.secret_key = settings.SECRET_KEY'], ['code', 'passwordField.setText("");'],
    ['code', 'for (const key of Object.keys(obj)) console.log(key);'], ['code', 'apiKey: process.env.OPENAI_API_KEY,'],
    ['code', 'export function hashPassword(password: string): Promise<string> {'], ['code', 'var secretName = "prod-db-credentials";'],
    ['placeholder', 'API_KEY=<your-key>'], ['placeholder', 'token: xxxx'], ['placeholder', 'password: ${DB_PASSWORD}'],
    ['placeholder', 'api_key = "your-api-key-here"'], ['placeholder', 'AWS_SECRET_ACCESS_KEY='], ['placeholder', 'password = ""'],
    ['placeholder', 'secret: "********"'], ['placeholder', 'Authorization: Bearer <token>'], ['placeholder', 'Authorization: Bearer $TOKEN'],
    ['placeholder', 'curl -u "$USER:$PASS" https://ci.example.org'], ['placeholder', 'export GITHUB_TOKEN={{ secrets.GITHUB_TOKEN }}'],
    ['placeholder', '<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />'], ['placeholder', 'client_secret: ${{ secrets.CLIENT_SECRET }}'],
    ['lockfile', `"integrity": "sha512-${s(B64, 86)}=="`], ['lockfile', `  integrity sha512-${s(B64, 86)}==`],
    ['lockfile', `{file = "requests-2.31.0-py3-none-any.whl", hash = "sha256:${hex(64)}"}`],
    ['lockfile', `golang.org/x/text v0.14.0 h1:${s(B64, 43)}=`], ['lockfile', `checksum = "${hex(64)}"`],
    ['lockfile', `requests==2.31.0 --hash=sha256:${hex(64)}`], ['lockfile', `"resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz"`],
    ['uuid', `request_id=${uuid()} status=200`], ['uuid', `{"id": "${uuid()}", "type": "invoice"}`],
    ['uuid', `X-Correlation-ID: ${uuid()}`], ['uuid', `Created workspace ${uuid()} in 0.4s`],
    ['prose', 'Never share your password with anyone, including support staff.'],
    ['prose', 'The password field must contain at least 12 characters, one digit and one symbol.'],
    ['prose', 'If you forgot your password, click "Reset" on the sign-in page.'],
    ['prose', 'Tokens expire after 24 hours; rotate the API key every month.'],
    ['prose', 'Set the secret in your CI settings rather than in code.'],
    ['prose', 'Use a Bearer token in the Authorization header for every call.'],
    ['prose', 'password: the one you chose when you signed up'], ['prose', 'The key is to keep retries idempotent.'],
    ['misc', `commit ${hex(40)}\nAuthor: CI Bot <noreply>`], ['misc', `image: registry.example.org/app@sha256:${hex(64)}`],
    ['misc', 'Chrome 127.0.6533.88 on Windows 11'], ['misc', 'color: #1e90ff; background: #fafafa;'],
    ['misc', 'docker run -p 8080:80 -e MODE=prod nginx:1.27'], ['misc', 'kubectl create secret generic db --from-env-file=.env'],
    ['misc', 'max_tokens: 2048\ntemperature: 0.2'], ['misc', 'token_count = 1532'], ['misc', 'primary_key = "order_id"'],
    ['misc', 'apiVersion: v1\nkind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  FEATURE_FLAGS: search,export'],
    ['misc', 'The service listens on 203.0.113.10 and 198.51.100.7.'], ['misc', 'Step 3 of 5: run `make test` again.'],
  ];
  for (const [syntax, text] of benign) add('benign', 'none', syntax, [], text);
  return items;
}
