// Pattern safety at validate time, and bounded time on adversarial megabyte inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPatternSafety, compileDisclosure, validateDisclosureOptions, type DisclosureOptions } from '../../../../policies/disclosure/index.js';
import { isCardNumber, isIban, isInternalIpv4, isInternalIpv6, isSsn, luhn } from '../../../../policies/disclosure/validators.js';
import { REFERENCE_PATTERNS } from '../../../helpers/reference-patterns.js';

const reference: DisclosureOptions = {
  enabled: true, redact_requests: true, redact_responses: true, replacement: '[REDACTED:{kind}]',
  sanitize_errors: true, hide_versions: true,
  filters: { redact_api_keys: true, remove_stack_traces: true, remove_file_paths: true, remove_internal_ips: true, remove_usernames: true, redact_emails: true },
  patterns: { ...REFERENCE_PATTERNS },
};

test('the reference policy patterns pass the safety check', () => {
  for (const [name, source] of Object.entries(reference.patterns)) assert.equal(checkPatternSafety(name, source), null);
  for (const ok of ['tok_[A-Za-z0-9]{32}', '(?i)internal-[0-9]{6}', '\\bACME-[0-9]{4}-[0-9]{4}\\b', '(?:com|org)+x', 'a{2,5}b']) assert.equal(checkPatternSafety('p', ok), null, ok);
});

test('catastrophic, unsupported or useless patterns are refused with a fix', () => {
  const bad = ['(a+)+$', '(a*)*b', '(x+x+)+y', '(\\w+\\s?)+$', '(.*a){20}', '(a|aa)+$', '(a|ab)*c', '(\\w|\\d)+z', '(a)\\1', '(?<=x)y', 'x(?=y)', 'a*', '', '[', 'a{1000}{2}', '(?:[a-z]{1,1000}){1,1000}'];
  for (const p of bad) {
    const msg = checkPatternSafety('custom', p);
    assert.ok(msg !== null, `should refuse ${p}`);
    assert.match(msg!, /pattern "custom"/);
    assert.match(msg!, /Fix:/);
  }
  const problems = validateDisclosureOptions({ filters: { redact_emial: true } as Record<string, boolean>, patterns: { evil: '(a+)+$' }, request_action: 'drop' as 'block' });
  assert.equal(problems.length, 3);
  assert.match(problems[0], /did you mean "redact_emails"/i);
  assert.throws(() => compileDisclosure({ ...reference, patterns: { evil: '(a+)+$' } }), /evil/);
});

test('a 1 MB adversarial body never stalls: whole text and streamed, in time linear in its size', () => {
  // No time threshold (the machine may be loaded): the CPU cost of 1 MiB is compared with the cost of
  // 128 KiB of the same text in the same moment. Linear work gives a ratio near 8; anything quadratic
  // gives 64 or more. The bound 24 leaves room for noise, and the best of three runs is taken of each.
  const r = compileDisclosure(reference);
  // CPU time of this process, not wall-clock: a loaded machine preempting the test must not read as work.
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const cost = (text: string): [number, number] => {
    let whole = Infinity, streamed = Infinity;
    for (let k = 0; k < 3; k++) {
      let t0 = cpuMs();
      r.redactText(text);
      whole = Math.min(whole, cpuMs() - t0);
      t0 = cpuMs();
      const s = r.createStreamRedactor('text', () => {});
      for (let i = 0; i < text.length; i += 16384) s.push(Buffer.from(text.slice(i, i + 16384)));
      s.end();
      streamed = Math.min(streamed, cpuMs() - t0);
    }
    return [whole, streamed];
  };
  const mb = 1 << 20;
  const shapes = ['a', 'a@', 'eyJ', 'sk-', 'eyJa.', '1', '1 ', '1.', '10.0.', '/a', '/home', ':', 'a:', 'fe80:', '-----BEGIN PRIVATE KEY-----\n', '\tat x(', '  File "', 'password=', ' ', '\n', 'x'.repeat(63) + '@', 'AKIA', '@a.', 'a.b', '%', 'C:\\'];
  for (const shape of shapes) {
    const text = shape.repeat(Math.ceil(mb / shape.length)).slice(0, mb);
    const [w8, s8] = cost(text.slice(0, mb / 8));
    const [w, st] = cost(text);
    console.log(`[adversarial 1 MB] ${JSON.stringify(shape)}: ${w.toFixed(0)} ms whole, ${st.toFixed(0)} ms streamed (128 KiB: ${w8.toFixed(0)}, ${s8.toFixed(0)})`);
    // 2 ms floor: below it the small run measures timer noise, not work.
    assert.ok(w <= 24 * Math.max(w8, 2) && st <= 24 * Math.max(s8, 2), `${JSON.stringify(shape)}: 1 MiB costs ${w.toFixed(0)}/${st.toFixed(0)} ms against ${w8.toFixed(0)}/${s8.toFixed(0)} ms for 128 KiB (whole/streamed): not linear`);
  }
});

test('validators', () => {
  assert.ok(luhn('4111111111111111'));
  assert.ok(!luhn('4111111111111112'));
  assert.ok(isCardNumber('4111 1111 1111 1111') && isCardNumber('378282246310005') && !isCardNumber('1234567812345678'));
  assert.ok(isIban('DE89 3704 0044 0532 0130 00') && isIban('GB82WEST12345698765432') && !isIban('DE89370400440532013001'));
  assert.ok(isSsn('219-09-9991') && !isSsn('000-12-3456') && !isSsn('666-12-3456') && !isSsn('912-12-3456'));
  assert.ok(isInternalIpv4('10.1.2.3') && isInternalIpv4('172.31.0.1') && !isInternalIpv4('172.32.0.1') && !isInternalIpv4('8.8.8.8') && !isInternalIpv4('10.1.2.300'));
  assert.ok(isInternalIpv6('::1') && isInternalIpv6('fe80::1') && isInternalIpv6('fd00:1:2::3') && !isInternalIpv6('2001:db8::1') && !isInternalIpv6('fe80::1::2'));
});
