// The API client and the browser session. The access token lives only in this module's
// memory; the refresh token is the HttpOnly `lg_refresh` cookie the server scoped to
// /api/v1/auth, which `refresh` and `logout` use when they carry X-Requested-With.

const CSRF_HEADER = { 'X-Requested-With': 'ledgerguard' };

let accessToken = null;
let currentUser = null;
let refreshTimer = null;
let refreshing = null;
const listeners = new Set();

/** An API answer that was not a success, in the spec's error shape. */
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `The server answered ${status}.`);
    this.status = status;
    this.code = err.code || (status === 0 ? 'network' : 'unknown');
    this.details = Array.isArray(err.details) ? err.details : [];
    this.requestId = err.request_id || null;
  }
}

export function user() { return currentUser; }
export function isSignedIn() { return accessToken !== null; }
export function onSessionChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

/** True when the signed-in user's role grants at least `role` (viewer < analyst < admin). */
export function can(role) {
  const rank = { viewer: 1, analyst: 2, admin: 3 };
  return !!currentUser && (rank[currentUser.role] || 0) >= (rank[role] || 99);
}

function setSession(body) {
  accessToken = body.access_token;
  if (body.user) currentUser = body.user;
  clearTimeout(refreshTimer);
  const seconds = Number(body.expires_in) || 900;
  // Refresh a minute before the access token expires (never more often than every 10 s).
  refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, Math.max(10, seconds - 60) * 1000);
  listeners.forEach((fn) => fn(currentUser));
}

function clearSession() {
  accessToken = null;
  currentUser = null;
  clearTimeout(refreshTimer);
  listeners.forEach((fn) => fn(null));
}

async function parse(resp) {
  if (resp.status === 204) return null;
  const text = await resp.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return { raw: text }; }
}

async function send(method, path, body, { auth = true, headers = {} } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (auth && accessToken) init.headers.Authorization = `Bearer ${accessToken}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: { message: 'The server cannot be reached. Check your connection and try again.' } });
  }
  return resp;
}

/** Calls the API; on a 401 with a session, refreshes once and retries. */
export async function api(method, path, body) {
  let resp = await send(method, path, body);
  if (resp.status === 401 && accessToken) {
    const ok = await refresh().then(() => true, () => false);
    if (ok) resp = await send(method, path, body);
  }
  const data = await parse(resp);
  if (!resp.ok) {
    if (resp.status === 401) clearSession();
    throw new ApiError(resp.status, data);
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

/** Builds a query string from the non-empty entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function login(email, password) {
  const resp = await send('POST', '/api/v1/auth/login', { email, password }, { auth: false });
  const data = await parse(resp);
  if (!resp.ok) throw new ApiError(resp.status, data);
  setSession(data);
  return data.user;
}

/** Restores or renews the session from the refresh cookie. */
export function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const resp = await send('POST', '/api/v1/auth/refresh', undefined, { auth: false, headers: CSRF_HEADER });
    const data = await parse(resp);
    if (!resp.ok) { clearSession(); throw new ApiError(resp.status, data); }
    setSession(data);
    if (!currentUser) {
      const me = await get('/api/v1/auth/me');
      currentUser = me.user || me;
      listeners.forEach((fn) => fn(currentUser));
    }
    return currentUser;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

export async function logout() {
  try {
    await send('POST', '/api/v1/auth/logout', undefined, { headers: CSRF_HEADER });
  } finally {
    clearSession();
  }
}

/** A single-use, short-lived ticket for EventSource (which cannot send headers). */
export async function eventTicket() {
  const data = await post('/api/v1/events/ticket');
  return data.ticket;
}

/** The current access token, for the one caller that must build its own request (a file
 *  download streamed into a blob). Never put it in a URL or in storage. */
export async function accessTokenForDownload() {
  if (!accessToken) await refresh();
  return accessToken;
}
