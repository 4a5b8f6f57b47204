// Provider credentials with a documented prefix or shape (cloud, developer tools, messaging, commerce, social); sources in docs/redaction.md.
import type { DetectorSpec } from './detectors.js';
import type { Trigger } from './prefilter.js';
import { isPlaceholder } from './validators.js';

const r = String.raw;
const KEY = 'redact_api_keys';
// No token starts inside another token: these characters may not come just before one.
const B = r`(?<![A-Za-z0-9_\-+/.])`;
const NB = '[A-Za-z0-9_\\-+/.]';
// A token ends where token characters end.
const E = r`(?![A-Za-z0-9_\-])`;
const EB = r`(?![A-Za-z0-9+/=_\-])`;
const lit = (...l: string[]): Trigger => ({ lit: l, notPrev: NB });

/** Random-looking: not a placeholder, and not one character class only (a real token mixes letters and digits). */
function tokenLike(v: string): boolean {
  return !isPlaceholder(v) && /[0-9]/.test(v) && /[A-Za-z]/.test(v);
}
const ok = (v: string): boolean => !isPlaceholder(v);

/** The first segment of a Discord bot token is the bot's numeric id in base64. */
function discordBot(v: string): boolean {
  const first = v.slice(0, v.indexOf('.'));
  const id = Buffer.from(first, 'base64').toString('latin1');
  return /^[0-9]{17,20}$/.test(id) && tokenLike(v.slice(first.length));
}

/** A base64 text whose decoded form is a JWT (`eyJ….eyJ…`). */
function encodedJwt(v: string): boolean {
  const d = Buffer.from(v.slice(0, 4096), 'base64').toString('latin1');
  return /^eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}/.test(d);
}

type P = [kind: string, trigger: Trigger, source: string, validate?: (v: string) => boolean];

const TABLE: P[] = [
  // Cloud and platform.
  ['cloudflare_key', lit('v1.0-'), r`${B}v1\.0-[a-f0-9]{24}-[a-f0-9]{146}${E}`],
  ['digitalocean_token', lit('dop_v1_', 'doo_v1_', 'dor_v1_'), r`${B}do[opr]_v1_[a-f0-9]{64}${E}`],
  ['heroku_key', lit('HRKU-'), r`${B}HRKU-AA[A-Za-z0-9_-]{58}${E}`],
  ['flyio_token', lit('fo1_', 'fm1a_', 'fm1r_', 'fm2_'), r`${B}(?:fo1_[A-Za-z0-9_-]{43}${E}|fm(?:1[ar]|2)_[A-Za-z0-9+/]{100,}={0,3}${EB})`],
  ['alibaba_key', lit('LTAI'), r`${B}LTAI[A-Za-z0-9]{12,28}${E}`, tokenLike],
  ['yandex_key', lit('AQVN', 't1.'), r`${B}(?:AQVN[A-Za-z0-9_-]{35,38}|t1\.[A-Za-z0-9_-]{8,}={0,2}\.[A-Za-z0-9_-]{86}={0,2})${E}`, tokenLike],
  ['vault_token', lit('hvs.', 'hvb.', 'hvr.'), r`${B}hv[sbr]\.[A-Za-z0-9_-]{24,400}${E}`, tokenLike],
  ['aws_session_token', lit('IQoJb3JpZ2lu', 'FwoGZXIvYXdz', 'FQoGZXIvYXdz'), r`${B}(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9+/]{80,2000}={0,2}${EB}`],
  ['onepassword_key', lit('A3-', 'ops_eyJ'), r`${B}(?:A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}${E}|ops_eyJ[A-Za-z0-9+/]{200,}={0,3}${EB})`, ok],
  ['doppler_token', lit('dp.'), r`${B}dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,44}${E}`, ok],
  ['planetscale_token', lit('pscale_'), r`${B}pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.-]{32,64}${E}`, ok],
  ['pulumi_token', lit('pul-'), r`${B}pul-[a-f0-9]{40}${E}`, ok],
  ['age_key', lit('AGE-SECRET-KEY-1'), r`${B}AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}${E}`],
  // Developer tools.
  ['atlassian_token', lit('ATATT3', 'ATCTT3', 'ATBB'), r`${B}(?:AT[AC]TT3[A-Za-z0-9_=-]{150,300}|ATBB[A-Za-z0-9]{28,40})${E}`, ok],
  ['sourcegraph_token', lit('sgp_'), r`${B}sgp_(?:[a-f0-9]{16}_|local_)?[a-f0-9]{40}${E}`, ok],
  ['sonar_token', lit('squ_', 'sqp_', 'sqa_'), r`${B}sq[upa]_[a-f0-9]{40}${E}`, ok],
  ['pypi_token', lit('pypi-AgEIcHlwaS5vcmc', 'pypi-AgENdGVzdC5weXBp'), r`${B}pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBp)[A-Za-z0-9_-]{50,1000}${E}`],
  ['rubygems_token', lit('rubygems_'), r`${B}rubygems_[a-f0-9]{48}${E}`, ok],
  ['nuget_key', lit('oy2'), r`${B}oy2[a-z0-9]{43}${E}`, tokenLike],
  ['postman_token', lit('PMAK-'), r`${B}PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}${E}`, ok],
  ['grafana_token', lit('glc_', 'glsa_', 'eyJrIjoi'), r`${B}(?:glc_[A-Za-z0-9+/]{32,400}={0,3}${EB}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}${E}|eyJrIjoi[A-Za-z0-9]{70,400}={0,3}${EB})`, ok],
  ['sentry_token', lit('sntryu_', 'sntrys_'), r`${B}(?:sntryu_[a-f0-9]{64}${E}|sntrys_eyJ[A-Za-z0-9+/=]{40,800}_[A-Za-z0-9+/]{43}${EB})`, ok],
  ['newrelic_key', lit('NRAK-', 'NRAA-', 'NRRA-', 'NRII-', 'NRIQ-', 'NRJS-'), r`${B}NR(?:AK|AA|RA|II|IQ|JS)-[A-Za-z0-9_-]{19,42}${E}`, ok],
  ['dynatrace_token', lit('dt0'), r`${B}dt0[a-z][0-9]{2}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}${E}`],
  ['linear_key', lit('lin_api_', 'lin_oauth_'), r`${B}lin_(?:api|oauth)_[A-Za-z0-9]{32,64}${E}`, ok],
  ['notion_token', lit('ntn_', 'secret_'), r`${B}(?:ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})${E}`, tokenLike],
  // Messaging.
  ['sendgrid_key', lit('SG.'), r`${B}SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}${E}`, ok],
  ['twilio_key', { lit: ['SK'], notPrev: '[A-Za-z0-9_-]' }, r`(?<![A-Za-z0-9_-])SK[0-9a-fA-F]{32}${E}`, tokenLike],
  ['mailgun_key', { lit: ['key-', 'pubkey-'], notPrev: '[A-Za-z0-9_.+/]' }, r`(?<![A-Za-z0-9_.+/])(?:pub)?key-[a-f0-9]{32}${E}`, tokenLike],
  ['brevo_key', lit('xkeysib-', 'xsmtpsib-'), r`${B}x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}${E}`, ok],
  ['discord_webhook', { lit: ['https://discord', 'https://ptb.discord', 'https://canary.discord'] }, r`https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}`, ok],
  ['discord_token', lit('MT', 'Mj', 'Mz', 'ND', 'NT', 'Nj', 'Nz', 'OD', 'OT'), r`${B}[MNO][A-Za-z0-9_-]{22,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}${E}`, discordBot],
  // Commerce.
  ['shopify_token', lit('shpat_', 'shpca_', 'shppa_', 'shpss_'), r`${B}shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}${E}`, ok],
  ['square_token', lit('EAAA', 'sq0atp-', 'sq0csp-', 'sq0idp-'), r`${B}(?:EAAA[A-Za-z0-9_-]{60}|sq0(?:atp|csp|idp)-[A-Za-z0-9_-]{22,43})${E}`, tokenLike],
  ['plaid_token', lit('access-sandbox-', 'access-development-', 'access-production-'), r`${B}access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}${E}`],
  ['flutterwave_key', lit('FLWSECK', 'FLWPUBK'), r`${B}FLW(?:SECK|PUBK)(?:_TEST)?-[a-fA-F0-9]{12,32}(?:-X)?${E}`, tokenLike],
  // Social, maps, storage, content.
  ['facebook_token', lit('EAA'), r`${B}EAA[A-Za-z0-9]{100,400}${E}`, tokenLike],
  ['mapbox_token', lit('pk.eyJ', 'sk.eyJ', 'tk.eyJ'), r`${B}[pst]k\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}${E}`, ok],
  ['airtable_token', lit('pat'), r`${B}pat[A-Za-z0-9]{14}\.[a-f0-9]{64}${E}`, tokenLike],
  ['dropbox_token', lit('sl.'), r`${B}sl\.(?:u\.)?[A-Za-z0-9_-]{130,1400}${E}`, tokenLike],
  ['contentful_token', lit('CFPAT-'), r`${B}CFPAT-[A-Za-z0-9_-]{43}${E}`, ok],
  ['jwt', lit('ZXlK'), r`${B}ZXlK[A-Za-z0-9+/]{40,8000}={0,2}${EB}`, encodedJwt],
];

/** Tokens whose distinctive part is in the middle: found at that literal, the start extended leftwards by a look-behind group. */
type F = [kind: string, literal: string, prev: string, left: string, right: string, validate?: (v: string) => boolean];
const ANCHORED: F[] = [
  ['terraform_token', '.atlasv1.', '[A-Za-z0-9]', r`(?<![A-Za-z0-9_.-])[A-Za-z0-9]{14}`, r`\.atlasv1\.[A-Za-z0-9_=-]{60,70}(?![A-Za-z0-9_=-])`, ok],
  ['telegram_bot_token', ':A', '[0-9]', r`(?<![A-Za-z0-9_:])[0-9]{8,10}`, r`:A[A-Za-z0-9_-]{34}${E}`, tokenLike],
  ['mailchimp_key', '-us', '[a-f0-9]', r`(?<![A-Za-z0-9_-])[a-f0-9]{32}`, r`-us[0-9]{1,2}${E}`, tokenLike],
  // (Found at a run of A's only when a delimiter or the start of the text precedes it, as the look-behind says: a
  // long run inside base64 data is not a start. No `prev` class: it would also refuse the start of the text.)
  ['twitter_bearer', 'AAAAAAAAAAAAAAAAAAAAA', '', '', r`(?<![A-Za-z0-9+/=_-])A{21,23}[A-Za-z0-9%]{60,130}${EB}`, (v) => /%|[0-9]/.test(v.slice(23)) && /[a-z]/.test(v)],
  ['teams_webhook', '.webhook.office.com/', '[a-z0-9-]', r`https://[a-z0-9-]{1,63}`, r`\.webhook\.office\.com/webhookb2/[A-Za-z0-9@-]{36,80}/IncomingWebhook/[A-Za-z0-9]{32}/[A-Za-z0-9-]{36}(?:/[A-Za-z0-9_-]{10,80})?`, ok],
];

export const PROVIDER_DETECTORS: readonly DetectorSpec[] = [
  ...TABLE.map(([kind, at, source, validate]): DetectorSpec => ({
    kind, filter: KEY, priority: 90, at, source, holdCap: 1024, validate: validate ? (v: string) => validate(v) : undefined,
  })),
  ...ANCHORED.map(([kind, literal, prev, left, right, validate]): DetectorSpec => ({
    kind, filter: KEY, priority: 90, source: left + right, validate: validate ? (v: string) => validate(v) : undefined,
    fast: { literal, prev, source: left ? `(?<=(${left}))${right}` : right },
  })),
];
