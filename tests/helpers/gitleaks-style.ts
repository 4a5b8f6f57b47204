// A per-rule true/false-positive set in the spirit of gitleaks' rule tests (tps/fps), built here from the documented formats.
// True positives put each provider's token in the assignment shapes gitleaks' sample generator uses; false positives are the
// look-alikes a rule must ignore (placeholders, bare prefixes, variable references, ids, hashes). Never tuned case by case.
import { formatKit } from './heldout-gen.js';

export interface RuleCase { rule: string; positive: boolean; secret: string; text: string }

export function gitleaksStyle(seed = 0x6172_7321): RuleCase[] {
  const { providers, pick, hex, w, alnum, uuid } = formatKit(seed);
  const out: RuleCase[] = [];
  const tp = (rule: string, secret: string, text: string) => out.push({ rule, positive: true, secret, text });
  const fp = (rule: string, text: string) => out.push({ rule, positive: false, secret: '', text });
  for (const [rule, make] of providers) {
    const id = rule.replace(/_/g, '');
    const a = make(), b = make(), c = make();
    tp(rule, a, `${id}_api_token = "${a}"`);
    tp(rule, b, `${id}Token := "${b}"`);
    tp(rule, c, `${id.toUpperCase()}_TOKEN=${c}`);
    const m = /^[^_.-]*[_.-](?:v1_)?/.exec(a);
    const prefix = m && m[0].length < a.length / 2 ? m[0] : a.slice(0, 4);
    fp(rule, `example: ${prefix}${'x'.repeat(Math.max(8, a.length - prefix.length))}`);
    fp(rule, `Tokens that start with "${prefix}" are ${rule} credentials; see the provider docs.`);
    fp(rule, `${id.toUpperCase()}_TOKEN=\${${id.toUpperCase()}_TOKEN}`);
  }
  // The generic rule: secrets by name, and the names and values it must leave alone.
  const g = () => alnum(30) + hex(2);
  for (const t of [
    `'access_token': '${w(32)}'`, `some_api_token_123 = "${alnum(60)}"`, `"user_auth": "${alnum(40)}=="`,
    `"credentials" : "${hex(64)}"`, `creds = ${g()}`, `private-key: ${w(100)}`, `passwd = ${g()}`,
    `"client_secret" : "${hex(64)}",`, `mySecretString=${g()}`, `todo_secret_do_not_commit = ${g()}`,
    `GetEnvOrDefault("api_token", "${uuid()}")`,
  ]) {
    const v = /[:=,(] ?["']?([^"'\s,)]+)["']?\)?,?$/.exec(t)!;
    tp('generic', v[1], t);
  }
  for (const t of [
    `"accessor":"${alnum(16)}",`, `report_access_id: ${uuid()}`, `accessibilityOptionId = "${uuid()}"`,
    'this.pictureBox1.Name = "pictureBox1";', 'COMMUNICATION_API_VERSION=rc0.13.0_20230412_0712-SNAPSHOT',
    `MantleAPI_version=${hex(40)}`, 'apiUrl=apigee.corp.example.com', 'author = "jane doe",',
    'Authentication-Results: mx.example.com', `credentialsId: '${uuid()}'`, `  "credentialId": "${alnum(22)}",`,
    'keyword: "Befaehigung_P2"', `public_key = "${alnum(43)}"`, `primaryKey=${w(30)}`, `foreignKey=${w(30)}`,
    `issuerKeyHash=${w(30)}`, 'IceSSL.KeyFile=s_rsa1024_priv.pem', '"bucket_key": "SalesResults-1.2"',
    "schemaKey = 'DOC_Vector_5_32'", 'sequenceKey = "18"', 'app.keystore.file=env/cert.p12',
    'doc.Security.KeySize = PdfEncryptionKeySize.Key128Bit;', `"kms_key_id": "${uuid()}",`,
    'const validKeyChars = "0123456789abcdefghijklmnopqrstuvwxyz_-."', 'key_length = XSalsa20.key_length',
    'KeyPair = X25519.KeyPair', 'keyPressed = kVK_Return.u16', 'PuttyPassword=0', 'LLM_SECRET_NAME = "NEXUS-GPT4-API-KEY"',
    `  <UserSecretsId>${uuid()}</UserSecretsId>`, 'secret_length = X25519.secret_length',
    "    access_token_url='https://github.com/login/oauth/access_token',", `publicToken = "${alnum(43)}"`,
    'notes = "Maven - io.jsonwebtoken:jjwt-jackson-0.11.2"', `csrf-token=${alnum(64)}==`, `clientId = "${uuid()}"`,
    'GITHUB_API_KEY=\nDYNATRACE_API_KEY=', 'snowflake.password=\njdbc.snowflake.url=',
    "import { chain_Anvil1_Key, chain_Anvil2_Key } from '../chains/consts';", `SRCREV_moby = "${hex(40)}"`,
    `token_type = "${pick(['bearer', 'Bearer'])}"`, 'secret_version = 3', 'password_min_length: 12',
  ]) fp('generic', t);
  return out;
}
