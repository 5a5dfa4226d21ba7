// Sign-in page.

import * as session from '../api.js';
import { h, mount, field, failure } from '../dom.js';

function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export async function render({ main, query, navigate }) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const errorSlot = h('div', { 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', { class: 'card auth-card', novalidate: true },
    h('h1', { id: 'page-title' }, 'Sign in to Ledgerguard'),
    errorSlot,
    field('Email', email),
    field('Password', password),
    submit,
    h('p', { class: 'muted small' }, 'Forgot your password? Ask an administrator to reset it (ledgerguard user reset-password).'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(errorSlot);
    if (!email.value || !password.value) {
      mount(errorSlot, failure({ message: 'Enter your email and password.' }));
      return;
    }
    submit.disabled = true;
    try {
      await session.login(email.value.trim(), password.value);
      navigate(safeNext(query.get('next')), { replace: true });
    } catch (err) {
      const e = err.status === 401 ? { message: 'The email or password is wrong, or the account is disabled.' }
        : err.status === 429 ? { message: 'Too many sign-in attempts. Wait 15 minutes or ask an administrator to unlock the account.' }
          : err;
      mount(errorSlot, failure(e));
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  mount(main, h('div', { class: 'auth-wrap' }, form));
  email.focus();
}
