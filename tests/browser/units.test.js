// Unit tests of the UI's pure helpers, run by node directly (no browser needed).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { money, num } from '../../assets/js/dom.js';
import { query } from '../../assets/js/api.js';

test('money keeps every digit of a decimal string and uses the currency', () => {
  const fmt = (a, c) => money(a, c).replace(/\s/g, ' ');
  assert.match(fmt('1234.50', 'USD'), /1,234\.50/);
  assert.match(fmt('1234.50', 'USD'), /\$/);
  assert.match(fmt('12345678901234567.89', 'USD'), /12,345,678,901,234,567\.89/);
  assert.match(fmt('1500', 'JPY'), /1,500/);
  assert.doesNotMatch(fmt('1500', 'JPY'), /\./, 'yen has no minor digits');
  assert.match(fmt('-20.00', 'EUR'), /20\.00/);
  assert.match(fmt('-20.00', 'EUR'), /€/);
  assert.equal(money(null, 'USD'), '—');
  assert.match(money('12.00', 'XYZ'), /12/, 'an unknown currency still shows the amount');
});

test('numbers are grouped and missing ones show a dash', () => {
  assert.equal(num(1234567), (1234567).toLocaleString());
  assert.equal(num(undefined), '—');
});

test('query strings skip empty values and encode the rest', () => {
  assert.equal(query({ a: '', b: null, c: undefined }), '');
  assert.equal(query({ q: 'a&b=c', limit: 50, empty: '' }), '?q=a%26b%3Dc&limit=50');
  assert.equal(query({ account_id: 'acct 1/ü' }), '?account_id=acct+1%2F%C3%BC');
});
