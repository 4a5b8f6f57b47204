// The soak's growth rule: a steady climb fails, noise around a level passes, leftover sockets fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, slope } from '../../../../dev/bench/soak-judge.js';

const MB = 1024 * 1024;
const flat = { rss: 80 * MB, heapUsed: 20 * MB, sockets: 10, fds: 30 };

test('slope is the least-squares fit', () => {
  assert.equal(slope([{ t: 0, y: 1 }, { t: 10, y: 21 }]), 2);
  assert.equal(slope([{ t: 0, y: 5 }]), 0);
});

test('a heap that keeps climbing fails; one that wanders around a level passes', () => {
  const t = Array.from({ length: 20 }, (_, i) => i * 30);
  const growing = t.map((s, i) => ({ t: s, v: { ...flat, heapUsed: 20 * MB + i * 2 * MB } }));
  const v1 = judge(growing, flat, flat);
  assert.equal(v1.failed.length, 1);
  assert.match(v1.failed[0], /^heapUsed/);
  const noisy = t.map((s, i) => ({ t: s, v: { ...flat, heapUsed: 20 * MB + (i % 2 ? 3 : -3) * MB, rss: 80 * MB + (i % 3) * 5 * MB } }));
  assert.deepEqual(judge(noisy, flat, flat).failed, []);
});

test('file descriptors that climb fail; sockets left open after the load fail', () => {
  const t = Array.from({ length: 10 }, (_, i) => i * 30);
  const fds = t.map((s, i) => ({ t: s, v: { ...flat, fds: 30 + i * 10 } }));
  assert.ok(judge(fds, flat, flat).failed.some((f) => f.startsWith('fds')));
  const steady = t.map((s) => ({ t: s, v: flat }));
  assert.ok(judge(steady, flat, { ...flat, sockets: 100 }).failed.some((f) => f.startsWith('sockets after')));
});

test('too few samples is said, not failed', () => {
  const v = judge([{ t: 0, v: flat }, { t: 30, v: flat }], flat, flat);
  assert.deepEqual(v.failed, []);
  assert.match(v.lines[0], /too short/);
});
