// Boot and routing: restores the session from the refresh cookie, draws the shell
// (navigation, live status, theme toggle, sign-out) and renders the page for the path.

import * as session from './api.js';
import { h, mount, failure } from './dom.js';
import { applyTheme, toggleTheme, currentTheme } from './theme.js';
import { onLiveState, startLive, stopLive } from './live.js';

const ROUTES = [
  { path: '/setup', page: 'setup', title: 'First administrator', public: true },
  { path: '/login', page: 'login', title: 'Sign in', public: true },
  { path: '/', page: 'dashboard', title: 'Dashboard' },
  { path: '/alerts', page: 'alerts', title: 'Alerts' },
  { path: '/alerts/:id', page: 'alert', title: 'Alert' },
  { path: '/transactions', page: 'transactions', title: 'Transactions' },
  { path: '/transactions/:id', page: 'transaction', title: 'Transaction' },
  { path: '/accounts', page: 'accounts', title: 'Accounts' },
  { path: '/accounts/:id', page: 'account', title: 'Account' },
  { path: '/rules', page: 'rules', title: 'Rules' },
  { path: '/rules/:id', page: 'rule', title: 'Rule' },
  { path: '/lists', page: 'lists', title: 'Lists' },
  { path: '/expenses', page: 'expenses', title: 'Expenses' },
  { path: '/budgets', page: 'budgets', title: 'Budgets' },
  { path: '/analyze', page: 'analyze', title: 'Message analysis' },
  { path: '/admin/users', page: 'users', title: 'Users', role: 'admin' },
  { path: '/admin/api-keys', page: 'apikeys', title: 'API keys', role: 'admin' },
  { path: '/admin/webhooks', page: 'webhooks', title: 'Webhooks', role: 'admin' },
  { path: '/admin/webhooks/:id', page: 'webhook', title: 'Webhook deliveries', role: 'admin' },
  { path: '/admin/backups', page: 'backups', title: 'Backups', role: 'admin' },
  { path: '/admin/audit', page: 'audit', title: 'Audit log', role: 'admin' },
];

const NAV = [
  ['Monitor', [['/', 'Dashboard'], ['/alerts', 'Alerts'], ['/transactions', 'Transactions'], ['/accounts', 'Accounts']]],
  ['Detection', [['/rules', 'Rules'], ['/lists', 'Lists'], ['/analyze', 'Message analysis']]],
  ['Spending', [['/expenses', 'Expenses'], ['/budgets', 'Budgets']]],
  ['Administration', [['/admin/users', 'Users'], ['/admin/api-keys', 'API keys'], ['/admin/webhooks', 'Webhooks'], ['/admin/backups', 'Backups'], ['/admin/audit', 'Audit log']], 'admin'],
];

let cleanup = null;
let renderSeq = 0;

function match(pathname) {
  for (const route of ROUTES) {
    const want = route.path.split('/');
    const got = pathname.replace(/\/+$/, '').split('/');
    if (route.path === '/' && (pathname === '/' || pathname === '')) return { route, params: {} };
    if (want.length !== got.length) continue;
    const params = {};
    const ok = want.every((seg, i) => {
      if (seg.startsWith(':')) { params[seg.slice(1)] = decodeURIComponent(got[i]); return got[i] !== ''; }
      return seg === got[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', href); else history.pushState({}, '', href);
  render();
}

function shell(route) {
  const user = session.user();
  const dot = h('span', { class: 'live-dot', role: 'img', 'aria-label': 'Live updates: offline' });
  const dotText = h('span', { class: 'live-text' }, 'offline');
  onLiveState((s) => { dot.dataset.state = s; dot.setAttribute('aria-label', `Live updates: ${s}`); dotText.textContent = s; });
  const themeBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'theme-toggle', 'aria-pressed': String(currentTheme() === 'dark') },
    currentTheme() === 'dark' ? 'Light theme' : 'Dark theme');
  themeBtn.addEventListener('click', () => {
    const t = toggleTheme();
    themeBtn.textContent = t === 'dark' ? 'Light theme' : 'Dark theme';
    themeBtn.setAttribute('aria-pressed', String(t === 'dark'));
  });
  const logoutBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'logout' }, 'Sign out');
  logoutBtn.addEventListener('click', async () => {
    stopLive();
    await session.logout().catch(() => {});
    navigate('/login', { replace: true });
  });
  const here = location.pathname;
  const nav = h('nav', { class: 'sidebar', 'aria-label': 'Main' },
    NAV.filter(([, , role]) => !role || session.can(role)).map(([group, links]) => h('div', { class: 'nav-group' },
      h('h2', { class: 'nav-title' }, group),
      h('ul', {}, links.map(([href, label]) => {
        const active = href === '/' ? here === '/' : here === href || here.startsWith(`${href}/`);
        return h('li', {}, h('a', { href, 'aria-current': active ? 'page' : null }, label));
      })))));
  const main = h('main', { id: 'main', tabindex: '-1', 'aria-labelledby': 'page-title' });
  const header = h('header', { class: 'topbar' },
    h('a', { href: '/', class: 'brand' }, 'Ledgerguard'),
    h('div', { class: 'live', title: 'Live updates' }, dot, dotText),
    h('div', { class: 'topbar-right' },
      user ? h('span', { class: 'who' }, `${user.name || user.email} · ${user.role}`) : null,
      themeBtn, logoutBtn));
  mount(document.getElementById('app'), header, h('div', { class: 'layout' }, nav, main));
  document.title = `${route.title} · Ledgerguard`;
  return main;
}

async function render() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* a page's cleanup must not stop navigation */ } cleanup = null; }
  const found = match(location.pathname);
  const app = document.getElementById('app');
  if (!found) {
    const main = shell({ title: 'Not found' });
    mount(main, h('h1', { id: 'page-title' }, 'Page not found'),
      h('p', {}, 'This address is not a Ledgerguard page. Use the menu to go to a page, or start from the dashboard.'),
      h('a', { href: '/', class: 'btn' }, 'Go to the dashboard'));
    return;
  }
  const { route, params } = found;
  if (!route.public && !session.isSignedIn()) {
    const next = location.pathname + location.search;
    navigate(`/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`, { replace: true });
    return;
  }
  let main;
  if (route.public) {
    main = h('main', { id: 'main', tabindex: '-1', class: 'public', 'aria-labelledby': 'page-title' });
    mount(app, main);
    document.title = `${route.title} · Ledgerguard`;
  } else {
    main = shell(route);
    startLive();
  }
  if (route.role && !session.can(route.role)) {
    mount(main, h('h1', { id: 'page-title' }, route.title),
      failure({ status: 403, message: 'This page is for administrators.' }));
    return;
  }
  try {
    const mod = await import(`./pages/${route.page}.js`);
    if (seq !== renderSeq) return;
    const ctx = { main, params, query: new URLSearchParams(location.search), navigate, title: route.title };
    const result = await mod.render(ctx);
    if (seq !== renderSeq) { if (typeof result === 'function') result(); return; }
    cleanup = typeof result === 'function' ? result : null;
  } catch (err) {
    if (seq !== renderSeq) return;
    mount(main, h('h1', { id: 'page-title' }, route.title), failure(err, () => render()));
  }
}

// Same-origin links navigate without a reload.
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/static/')) return;
  if (url.pathname === location.pathname && url.hash) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
  const main = document.getElementById('main');
  if (main) main.focus({ preventScroll: true });
});
window.addEventListener('popstate', () => render());

session.onSessionChange((u) => {
  if (!u && !match(location.pathname)?.route.public) {
    stopLive();
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }
});

async function boot() {
  applyTheme();
  const found = match(location.pathname);
  if (!found || !found.route.public || found.route.page === 'login') {
    await session.refresh().catch(() => {});
  }
  if (session.isSignedIn() && location.pathname === '/login') {
    navigate(safeNext(new URLSearchParams(location.search).get('next')), { replace: true });
    return;
  }
  render();
}

/** Only same-site paths are followed after sign-in. */
export function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

boot();
