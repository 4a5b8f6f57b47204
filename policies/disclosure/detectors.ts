// The built-in detector table: what each filter key finds, as linear-time regexes plus validators.
import type { Trigger } from './prefilter.js';
import { CONTEXT_DETECTORS, SECRET_AT } from './context.js';
import { PII_DETECTORS } from './pii.js';
import { PROVIDER_DETECTORS } from './providers.js';
import { isCardNumber, isIban, isInternalIpv4, isInternalIpv6, isPlaceholder, isSsn, isTokenValue } from './validators.js';

export interface DetectorSpec {
  kind: string;
  /** The `filters` key that switches it on. */
  filter: string;
  /** Wins over lower priorities when findings overlap (the merged span takes its kind). */
  priority: number;
  source: string;
  flags?: string;
  /** Capture groups holding the secret: the first that took part is redacted, else the whole match. */
  groups?: number[];
  validate?: (value: string, m: RegExpExecArray) => boolean;
  /** A cheap test run first: when it fails on the text, the detector cannot match there. */
  hint?: RegExp;
  /**
   * A faster equivalent for scanning: a sticky regex tried only where `literal` occurs, whose match
   * starts at the literal; capture group 1 (in a look-behind), when there is one, moves the start
   * left (and is the redacted span unless `groups` names others). `prev` / `next` (character classes) must hold for the
   * characters just before / after the literal, and a literal at the start / end of the text fails them: use
   * them only where a match needs a character there. `source` stays the reference for holding back.
   */
  fast?: { literal: string; source: string; groups?: number[]; prev?: string; next?: string };
  /** Where matches can start (see Trigger); the detector then runs only there. */
  at?: Trigger;
  /** Upper bound for unbounded repeats when deciding what to hold back on a stream. */
  holdCap?: number;
}

/** Filter keys this engine understands, with their defaults when a policy leaves them out. */
export const FILTER_DEFAULTS: Readonly<Record<string, boolean>> = Object.freeze({
  redact_api_keys: true,
  remove_stack_traces: true,
  remove_file_paths: true,
  remove_internal_ips: true,
  remove_usernames: false,
  redact_emails: true,
  redact_pii: true,
});

const r = String.raw;
const notPlaceholder = (v: string): boolean => !isPlaceholder(v);
// Characters that may not directly precede a token (keeps matches from starting mid-identifier or mid-base64).
const B = r`(?<![A-Za-z0-9_\-+/.])`;
const BW = r`(?<![A-Za-z0-9_])`;
const LINE = r`(?<![^\n])`;
const EOL = r`(?![^\r\n])`;
const KEY = 'redact_api_keys';
const NB = '[A-Za-z0-9_\\-+/.]', NBW = '[A-Za-z0-9_]';
const NFP = '[A-Za-z0-9_.~+/:\\\\-]';
const lit = (notPrev: string, ...l: string[]): Trigger => ({ lit: l, notPrev });
// Every credential-assignment detector's match starts with one of these words.
// Shared with the context detectors (one cached scan); the password family has its own trigger.
const ASSIGN: Trigger = SECRET_AT;
// A host followed by ":path/" is an SSH remote (git@host:org/repo) or a URL authority, not a mailbox.
const DOMAIN = r`(?![A-Za-z0-9.-]{1,300}:[A-Za-z0-9_.~-]{0,64}/)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])`;

export const DETECTORS: readonly DetectorSpec[] = [
  {
    kind: 'private_key', filter: KEY, priority: 100, at: { lit: ['-----BEGIN'] }, holdCap: 8192,
    source: r`-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,.\\]|-(?!----END)){0,8192}(?:-----END[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)?`,
  },
  { kind: 'anthropic_key', filter: KEY, priority: 95, at: lit(NB, 'sk-'), source: r`${B}sk-ant-[A-Za-z0-9_-]{32,}`, validate: notPlaceholder },
  { kind: 'openrouter_key', filter: KEY, priority: 95, at: lit(NB, 'sk-'), source: r`${B}sk-or-v1-[a-f0-9]{64}`, validate: notPlaceholder },
  { kind: 'openai_key', filter: KEY, priority: 90, at: lit(NB, 'sk-'), source: r`${B}sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}`, validate: notPlaceholder },
  {
    kind: 'aws_access_key', filter: KEY, priority: 90, validate: notPlaceholder, at: { re: 'A(?:KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|PKA|ROA|SCA)', notPrev: '[A-Za-z0-9]' },
    source: r`(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}(?![A-Za-z0-9])`,
  },
  {
    kind: 'aws_secret_key', filter: KEY, priority: 90, flags: 'i', groups: [1], validate: notPlaceholder, at: ASSIGN,
    source: r`${BW}(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key)["']?[ \t]{0,3}(?:=>|:=|=|:)[ \t]{0,3}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
  },
  // lollms-guard's own API keys (`gen-key`: "lg_" + 32 random bytes in base64url): an answer must never echo one.
  { kind: 'lollms_guard_key', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NBW, 'lg_'), source: r`${BW}lg_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])` },
  { kind: 'github_token', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NBW, 'ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'), source: r`${BW}(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})` },
  { kind: 'gitlab_token', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NB, 'gl'), source: r`${B}gl(?:pat|dt|ptt|rt|cbt|oas|soat|ft|imt|agent)-[A-Za-z0-9_-]{20,}` },
  { kind: 'slack_token', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NB, 'xox', 'xapp-'), source: r`${B}(?:xox[abposre]|xapp)-(?:[0-9]{1,16}-)?[A-Za-z0-9-]{10,}` },
  { kind: 'slack_webhook', filter: KEY, priority: 90, validate: notPlaceholder, at: { lit: ['https://hooks.slack.com/'] }, source: r`https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}` },
  { kind: 'stripe_key', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NBW, 'sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'), source: r`${BW}(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}|whsec_[A-Za-z0-9+/=]{32,})` },
  { kind: 'google_api_key', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NB, 'AIza'), source: r`${B}AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])` },
  { kind: 'google_oauth', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NB, 'GOCSPX-', 'ya29.', '1//0'), source: r`${B}(?:GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[0-9A-Za-z_-]{30,}|1//0[0-9A-Za-z_-]{40,})` },
  { kind: 'huggingface_token', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NBW, 'hf_', 'api_org_'), source: r`${BW}(?:hf_[A-Za-z0-9]{30,}|api_org_[A-Za-z0-9]{30,})` },
  { kind: 'npm_token', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NBW, 'npm_'), source: r`${BW}npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])` },
  {
    kind: 'azure_key', filter: KEY, priority: 85, groups: [1, 2, 3], validate: notPlaceholder, flags: 'i', at: ASSIGN,
    source: r`(?:(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{40,100}={0,2})|[?&]sig=([A-Za-z0-9%+/=]{30,200})|${BW}(?:ocp-apim-subscription-key|azure[_-]?openai[_-]?(?:api[_-]?)?key)["']?[ \t]{0,3}[:=][ \t]{0,3}["']?([A-Za-z0-9]{32,100}))`,
  },
  { kind: 'groq_key', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NBW, 'gsk_'), source: r`${BW}gsk_[A-Za-z0-9]{40,}` },
  { kind: 'replicate_token', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NBW, 'r8_'), source: r`${BW}r8_[A-Za-z0-9]{30,}` },
  { kind: 'xai_key', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NB, 'xai-'), source: r`${B}xai-[A-Za-z0-9]{40,}` },
  {
    kind: 'llm_api_key', filter: KEY, priority: 90, validate: notPlaceholder, at: lit(NB, 'pplx-', 'fw_', 'lsv2_', 'tvly-', 'nvapi-', 'pcsk_', 'dapi'),
    source: r`${B}(?:pplx-[A-Za-z0-9]{40,}|fw_[A-Za-z0-9]{20,}|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|tvly-(?:dev-|prod-)?[A-Za-z0-9]{20,}|nvapi-[A-Za-z0-9_-]{40,}|pcsk_[A-Za-z0-9_]{40,}|dapi[a-f0-9]{32}(?![A-Za-z0-9]))`,
  },
  { kind: 'jwt', filter: KEY, priority: 88, holdCap: 2048, at: lit(NB, 'eyJ'), source: r`${B}eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*` },
  { kind: 'bearer_token', filter: KEY, priority: 80, groups: [1], validate: isTokenValue, at: lit(NBW, 'Bearer', 'bearer', 'BEARER'), source: r`${BW}(?:[Bb]earer|BEARER)[ \t]+([A-Za-z0-9\-._~+/]{16,}=*)` },
  { kind: 'basic_auth', filter: KEY, priority: 80, groups: [1], flags: 'i', at: ASSIGN, validate: notPlaceholder, source: r`${BW}authorization["']?[ \t]{0,3}[:=][ \t]{0,3}["']?basic[ \t]+([A-Za-z0-9+/]{8,}={0,2})` },
  {
    // The user may be empty: Redis URLs carry only a password (redis://:pw@host; black-box round 12).
    kind: 'password', filter: KEY, priority: 75, groups: [1], validate: notPlaceholder,
    source: r`(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@"'<>]{0,128}:([^\s/@"'<>]{1,256})@`,
    fast: { literal: '://', groups: [2], prev: '[A-Za-z0-9+.-]', source: r`(?<=((?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}))://[^\s:/@"'<>]{0,128}:([^\s/@"'<>]{1,256})@` },
  },
  ...CONTEXT_DETECTORS,
  ...PROVIDER_DETECTORS,
  ...PII_DETECTORS,
  { kind: 'card_number', filter: 'redact_pii', priority: 60, validate: isCardNumber, at: { re: '(?<![0-9A-Za-z_.-])[0-9]{4}' }, source: r`(?<![0-9A-Za-z_.-])[0-9]{4}(?:[0-9]{9,15}|(?:[ -][0-9]{4}){2}[ -][0-9]{1,7}|[ -][0-9]{6}[ -][0-9]{4,5})(?![0-9A-Za-z_-])` },
  { kind: 'iban', filter: 'redact_pii', priority: 60, validate: isIban, at: { re: '(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}' }, source: r`(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])` },
  {
    kind: 'ssn', filter: 'redact_pii', priority: 60, validate: isSsn, source: r`(?<![0-9A-Za-z-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9A-Za-z-])`,
    fast: { literal: '-', prev: '[0-9]', next: '[0-9]', source: r`(?<=(?<![0-9A-Za-z-])([0-9]{3}))-[0-9]{2}-[0-9]{4}(?![0-9A-Za-z-])` },
  },
  {
    kind: 'email', filter: 'redact_emails', priority: 50,
    source: r`(?<![A-Za-z0-9._%+-])(?<!//[^\s/@]{1,128}:)[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@${DOMAIN}`,
    fast: { literal: '@', prev: '[A-Za-z0-9._%+-]', next: '[A-Za-z0-9-]', source: r`(?<=(?<![A-Za-z0-9._%+-])(?<!//[^\s/@]{1,128}:)([A-Za-z0-9][A-Za-z0-9._%+-]{0,63}))@${DOMAIN}` },
  },
  {
    kind: 'internal_ip', filter: 'remove_internal_ips', priority: 45, validate: isInternalIpv4,
    source: r`(?<![0-9A-Za-z.]|(?<![A-Za-z])[Vv]er(?:sion)? )[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?:/[0-9]{1,2})?(?![0-9]|\.[0-9])`,
    fast: { literal: '.', prev: '[0-9]', next: '[0-9]', source: r`(?<=(?<![0-9A-Za-z.]|(?<![A-Za-z])[Vv]er(?:sion)? )([0-9]{1,3}))\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?:/[0-9]{1,2})?(?![0-9]|\.[0-9])` },
  },
  {
    kind: 'internal_ip', filter: 'remove_internal_ips', priority: 45, flags: 'i', validate: isInternalIpv6,
    source: r`(?<![0-9A-Za-z:.])(?:(?:f[cd][0-9a-f]{2}|fe[89ab][0-9a-f]):[0-9a-f:]{1,37}[0-9a-f]|::1)(?:%[0-9A-Za-z]{1,15})?(?![0-9a-z:])`,
    fast: {
      literal: ':', next: '[0-9a-f:]',
      source: r`(?<=(?<![0-9A-Za-z:.])(f[cd][0-9a-f]{2}|fe[89ab][0-9a-f]|))(?:(?<=[0-9a-f]):[0-9a-f:]{1,37}[0-9a-f]|(?<![0-9a-z:])::1)(?:%[0-9A-Za-z]{1,15})?(?![0-9a-z:])`,
    },
  },
  ...([
    [r`^[ \t]*Traceback \(most recent call last\):[ \t]*$`, '[ \tT]'],
    [r`^[ \t]*File "[^"\r\n]{1,512}", line [0-9]{1,7}(?:, in [^\r\n]{1,256})?$`, '[ \tF]'],
    [r`^[ \t]+at [^\r\n]{1,512}?(?::[0-9]{1,7}(?::[0-9]{1,7})?\)?|\((?:Native Method|Unknown Source|native)\)|:line [0-9]{1,7})[ \t]*$`, '[ \t]'],
    [r`^[ \t]*from [^\r\n]{1,512}?:[0-9]{1,7}:in [^\r\n]{1,256}$`, '[ \tf]'],
    [r`^goroutine [0-9]{1,9} \[[^\]\r\n]{1,64}\]:$`, 'g'],
    [r`^\t[^\r\n]{1,512}\.go:[0-9]{1,7}(?: \+0x[0-9a-f]{1,16})?$`, '\t'],
    [r`^(?:created by )?[A-Za-z0-9_./*()-]{1,256}\((?:0x[0-9a-f]{1,16}|\.\.\.|, ?){0,32}\)(?: in goroutine [0-9]{1,9})?(?=\r?\n\t[^\r\n]{1,512}\.go:[0-9])`, '[A-Za-z0-9_./*()-]', true],
    [r`^#[0-9]{1,4} (?:/|[A-Za-z]:\\|\{main\}|\[internal function\])[^\r\n]{0,512}$`, '#'],
  ] as Array<[string, string, boolean?]>).map(([source, first, nextTab]): DetectorSpec => ({
    kind: 'stack_trace', filter: 'remove_stack_traces', priority: 40, holdCap: 1024, flags: 'm', source, at: { line: first, nextTab },
  })),
  {
    kind: 'username', filter: 'remove_usernames', priority: 25, groups: [1, 2, 3, 4], flags: 'i', hint: /home|users|user|login|uid|:\/\//i,
    source: [
      r`(?<![A-Za-z0-9_.-])/(?:home|Users)/([A-Za-z0-9._-]{1,64})`,
      r`(?<![A-Za-z0-9_])[A-Za-z]:\\{1,2}Users\\{1,2}([^\\/:*?"<>|\s]{1,64})`,
      r`${BW}(?:user(?:_?name)?|login|uid)["']?[ \t]{0,3}[:=][ \t]{0,3}["']?([A-Za-z0-9._@-]{2,64})`,
      r`(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://([^\s:/@"'<>]{1,128})(?::[^\s/@"'<>]{0,256})?@`,
    ].join('|'),
  },
  { kind: 'file_path', filter: 'remove_file_paths', priority: 30, at: lit(NFP, 'file://', '~', '/'), source: r`(?<![A-Za-z0-9_.~+/:\\-])(?:file://)?(?:~|/(?:home|Users|root|var|etc|opt|srv|app|apps|mnt|data|tmp|workspace|workspaces|code|private|Volumes|builds|runner|deploy|www|media|usr/local|usr/src|usr/share|usr/lib|lib|snap|nix))(?:/[A-Za-z0-9_.@%+=,~-]{1,128}){1,32}/?` },
  { kind: 'file_path', filter: 'remove_file_paths', priority: 30, at: lit(NFP, '/'), source: r`(?<![A-Za-z0-9_.~+/:\\-])(?:/[A-Za-z0-9_.@%+=,~-]{1,128}){1,32}\.(?:py|pyc|js|mjs|cjs|ts|tsx|jsx|go|java|kt|rb|php|cs|rs|c|cc|cpp|h|hpp|swift|scala|json|ya?ml|toml|ini|cfg|conf|env|log|pem|key|crt|sh|bash|sql|db|sqlite|dll|so|exe|jar|class|ipynb)(?![A-Za-z0-9_])` },
  {
    kind: 'file_path', filter: 'remove_file_paths', priority: 30,
    source: r`(?<![A-Za-z0-9_])[A-Za-z]:(?:\\{1,2}(?:[^\\/:*?"<>|\s]{1,128}(?: [^\\/:*?"<>|\s]{1,128}){0,4}(?=\\)|[^\\/:*?"<>|\s]{1,128})){1,32}\\?`,
    fast: { literal: ':\\', prev: '[A-Za-z]', source: r`(?<=(?<![A-Za-z0-9_])([A-Za-z])):(?:\\{1,2}(?:[^\\/:*?"<>|\s]{1,128}(?: [^\\/:*?"<>|\s]{1,128}){0,4}(?=\\)|[^\\/:*?"<>|\s]{1,128})){1,32}\\?` },
  },
];

/** Detectors used by `looksSensitiveError`, whatever the filters say. */
export const ERROR_FILTERS: readonly string[] = ['redact_api_keys', 'remove_stack_traces', 'remove_file_paths', 'remove_internal_ips'];
