// First-admin setup: the one-time link the server logs on first start (/setup?token=…).

import { ApiError } from '../api.js';
import * as session from '../api.js';
import { h, mount, field, failure } from '../dom.js';

export async function render({ main, query, navigate }) {
  const token = query.get('token') || '';
  if (!token) {
    mount(main, h('div', { class: 'auth-wrap' }, h('div', { class: 'card auth-card' },
      h('h1', { id: 'page-title' }, 'First administrator'),
      failure({ message: 'This setup link has no token.' }),
      h('p', {}, 'Open the exact URL that ledgerguard serve printed in its log on first start (it ends with ?token=…), or create the administrator from the shell with ledgerguard init --admin-email you@example.com.'))));
    return;
  }
  // The token came in the URL once; drop it from the address bar and history.
  history.replaceState({}, '', '/setup');
  const status = await fetch('/api/v1/setup', { headers: { Accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : null), () => null);
  if (status && status.required === false) {
    mount(main, h('div', { class: 'auth-wrap' }, h('div', { class: 'card auth-card' },
      h('h1', { id: 'page-title' }, 'Setup is complete'),
      h('p', {}, 'An administrator already exists, so this link no longer works. Sign in instead; an administrator can add your account under Users.'),
      h('a', { href: '/login', class: 'btn btn-primary' }, 'Go to sign in'))));
    return;
  }
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'name', required: true, maxlength: '200' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: '12' });
  const errorSlot = h('div', { 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create administrator');
  const form = h('form', { class: 'card auth-card', novalidate: true },
    h('h1', { id: 'page-title' }, 'Create the first administrator'),
    h('p', {}, 'This link works once and for one hour. The account you create here can add everyone else.'),
    errorSlot,
    field('Email', email),
    field('Name', name),
    field('Password', password, 'At least 12 characters and hard to guess: a few unrelated words work well.'),
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(errorSlot);
    submit.disabled = true;
    try {
      const resp = await fetch('/api/v1/setup', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token, email: email.value.trim(), name: name.value.trim(), password: password.value }),
      });
      const body = await resp.json().catch(() => null);
      if (!resp.ok) throw new ApiError(resp.status, body);
      await session.login(email.value.trim(), password.value).catch(() => null);
      navigate(session.isSignedIn() ? '/' : '/login', { replace: true });
    } catch (err) {
      const tokenRefused = err.status === 422 && err.details.some((d) => d.field === 'token');
      const e = tokenRefused || err.status === 401 || err.status === 404 || err.status === 409
        ? { message: 'This setup link is used up or expired.', details: [{ message: 'Restart ledgerguard serve on the empty database for a new link, or use ledgerguard init --admin-email from the shell.' }] }
        : err;
      mount(errorSlot, failure(e));
    } finally {
      submit.disabled = false;
    }
  });
  mount(main, h('div', { class: 'auth-wrap' }, form));
  email.focus();
}
