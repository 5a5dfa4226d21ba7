// Shared set-up for the browser tests: the Chromium launch, sign-in, the API client used to
// drive the server behind the browser's back, axe-core checks and screenshots.
// Configured by scripts/browser-tests.sh through LG_* environment variables.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const BASE = process.env.LG_BASE_URL || 'http://127.0.0.1:8080';
export const ADMIN = { email: process.env.LG_ADMIN_EMAIL, password: process.env.LG_ADMIN_PASSWORD };
export const INGEST_KEY = process.env.LG_INGEST_KEY;
const SHOTS = process.env.LG_SCREENSHOTS || path.resolve('test-artifacts/screenshots');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.LG_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh context (own cookies) at the laptop size the UI must be readable at. */
export async function newPage(browser, { colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, colorScheme, baseURL: BASE });
  const page = await context.newPage();
  page.cspViolations = [];
  page.pageErrors = [];
  page.on('console', (msg) => {
    if (/Content[- ]Security[- ]Policy|Refused to (execute|apply|load)/i.test(msg.text())) page.cspViolations.push(msg.text());
  });
  page.on('pageerror', (err) => page.pageErrors.push(String(err)));
  return page;
}

export async function signIn(page, who = ADMIN) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Runs axe-core on the page and fails on serious or critical violations. */
export async function checkA11y(page, name) {
  // Evaluated through the DevTools protocol: an injected <script> would (rightly) be refused
  // by the page's CSP.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: axe found serious/critical violations:\n${JSON.stringify(bad, null, 2)}`);
  return result;
}

export async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

export function assertClean(page, name) {
  assert.deepEqual(page.cspViolations, [], `${name}: CSP violations`);
  assert.deepEqual(page.pageErrors, [], `${name}: uncaught page errors`);
}

/** Calls the API directly (not through the browser). `auth` is {key} or {token}. */
export async function api(method, urlPath, body, auth = {}) {
  const headers = { Accept: 'application/json' };
  if (auth.key) headers['X-API-Key'] = auth.key;
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(`${BASE}${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { raw: text }; }
  return { status: resp.status, body: json, headers: resp.headers };
}

let adminToken = null;
export async function adminAccessToken() {
  if (adminToken) return adminToken;
  const r = await api('POST', '/api/v1/auth/login', { email: ADMIN.email, password: ADMIN.password });
  assert.equal(r.status, 200, `admin login: ${JSON.stringify(r.body)}`);
  adminToken = r.body.access_token;
  return adminToken;
}

/**
 * Whether an endpoint exists on this build: an unknown route answers 404 `not_found` with
 * the default message, a known one anything else (401, 403, 422, …) for an empty request.
 */
export async function endpointExists(method, urlPath) {
  const token = await adminAccessToken();
  const r = await api(method, urlPath, method === 'GET' ? undefined : {}, { token });
  return !(r.status === 404 && r.body?.error?.message === 'No such resource.');
}

let txSeq = 0;
/** Posts a transaction with the ingest key and returns the scoring answer. */
export async function postTransaction(fields = {}) {
  txSeq += 1;
  const body = {
    external_id: `browser-${Date.now()}-${txSeq}`,
    account_id: 'acct-browser-1',
    amount: '25.00',
    currency: 'USD',
    occurred_at: new Date().toISOString(),
    kind: 'payment',
    merchant: 'Corner Shop',
    channel: 'card_present',
    ...fields,
  };
  const r = await api('POST', '/api/v1/transactions', body, { key: INGEST_KEY });
  assert.ok(r.status === 201 || r.status === 200, `POST /transactions: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

let alertRule = null;
/**
 * A rule that sends transactions at the merchant "Browser Alert Shop" to review, so a test
 * can raise an alert on purpose whatever the default rule pack scores.
 */
export async function alertMerchant() {
  if (!alertRule) {
    const token = await adminAccessToken();
    const r = await api('POST', '/api/v1/rules', {
      name: 'browser_tests_review', description: 'Raised on purpose by the browser tests',
      expression: 'txn.merchant == "Browser Alert Shop"', score: 70, action: 'review', enabled: true,
    }, { token });
    assert.equal(r.status, 201, `creating the review rule: ${JSON.stringify(r.body)}`);
    alertRule = r.body;
  }
  return 'Browser Alert Shop';
}
