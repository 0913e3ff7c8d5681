/**
 * replay/interner.ts: keys -> dense ids in order of first appearance, number keys in a typed table that
 * grows past its first slots, text keys over several Maps (V8's Map stops at 2^24 entries).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Interner } from '../../replay/interner.js';

test('number keys: dense ids in order of first appearance, the same id again, keys and first sizes kept, through many regrowths', () => {
  const it = new Interner();
  const special = [0, 2 ** 53 - 1, 2 ** 32, 2 ** 32 + 1, 4294967295, 1.5, -7];
  const keys = [...special, ...Array.from({ length: 300_000 }, (_, i) => 1e12 + i * 7919)];
  keys.forEach((k, i) => assert.equal(it.intern(k, i + 1), i));
  assert.equal(it.count, keys.length);
  // again, backwards, with other sizes: the same ids, the first sizes
  for (let i = keys.length - 1; i >= 0; i -= 97) assert.equal(it.intern(keys[i]!, 1), i);
  assert.equal(it.count, keys.length);
  assert.equal(it.uniqueBytes, (keys.length * (keys.length + 1)) / 2);
  assert.deepEqual(special.map((_, i) => it.key(i)), special);
  assert.equal(it.key(keys.length - 1), keys.at(-1));
  assert.throws(() => it.key(keys.length), /no key has id/);
});

test('text keys across several Maps, beside number keys: "7" and 7 are two objects', () => {
  const it = new Interner(100);
  const texts = Array.from({ length: 1000 }, (_, i) => `/o/${i}`);
  const ids = texts.map((k, i) => it.intern(k, 10 + (i % 3)));
  assert.deepEqual(ids, texts.map((_, i) => i));
  assert.equal(it.intern(7, 1), 1000);
  assert.equal(it.intern('7', 1), 1001);
  assert.equal(it.intern(7, 1), 1000);
  // keys from the first Map and the last found again, not added
  assert.deepEqual([it.intern('/o/0', 1), it.intern('/o/999', 1), it.intern('/o/500', 1)], [0, 999, 500]);
  assert.equal(it.count, 1002);
  assert.deepEqual([it.key(0), it.key(999), it.key(1000), it.key(1001)], ['/o/0', '/o/999', 7, '7']);
  // numbers enough to regrow the table, then 0 (what a text key's unused number column holds): a new id
  for (let k = 1; k <= 3000; k++) it.intern(k + 10, 1);
  assert.equal(it.intern(0, 1), 4002);
  assert.equal(it.key(4002), 0);
  assert.equal(it.intern('/o/3', 1), 3);
});
