// Admin: users (create, change role, disable or enable, unlock).

import { get, post, patch, user as me } from '../api.js';
import { h, mount, badge, when, failure, busy, toast, field, select, pageHeader, items, empty, table } from '../dom.js';

export async function render({ main }) {
  const body = h('div');
  const formError = h('div', { 'aria-live': 'assertive' });
  const create = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add user');
  const form = h('form', { class: 'card row', novalidate: true },
    field('Email', h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' })),
    field('Name', h('input', { name: 'name', required: true, maxlength: '200' })),
    field('Role', select('role', ['viewer', 'analyst', 'admin'], 'analyst')),
    field('Initial password', h('input', { type: 'password', name: 'password', required: true, minlength: '12', autocomplete: 'new-password' }), '12+ characters, hard to guess. Share it privately.'),
    create);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(formError);
    const v = Object.fromEntries(new FormData(form).entries());
    const ok = await busy(create, async () => {
      try { await post('/api/v1/users', v); return true; } catch (err) { mount(formError, failure(err)); return false; }
    });
    if (ok) { toast('User added.', 'ok'); form.reset(); load(); }
  });
  mount(main, pageHeader('Users'), formError, form, body);
  main.querySelector('h1').id = 'page-title';

  async function load() {
    try {
      const users = items(await get('/api/v1/users?limit=500'));
      const self = me();
      mount(body, users.length ? table('Users', [
        { label: 'Email', cell: (u) => u.email },
        { label: 'Name', cell: (u) => u.name },
        { label: 'Role', cell: (u) => {
          const s = select('role', ['viewer', 'analyst', 'admin'], u.role);
          s.setAttribute('aria-label', `Role of ${u.email}`);
          s.disabled = self && self.id === u.id;
          s.addEventListener('change', async () => { const ok = await busy(s, async () => { await patch(`/api/v1/users/${u.id}`, { role: s.value }); return true; }); if (ok) toast(`${u.email} is now ${s.value}.`, 'ok'); else load(); });
          return s;
        } },
        { label: 'Status', cell: (u) => badge(u.disabled ? 'disabled' : u.locked_until ? 'locked' : 'active') },
        { label: 'Last login', cell: (u) => when(u.last_login_at) },
        { label: 'Actions', cell: (u) => (self && self.id === u.id ? h('span', { class: 'muted' }, 'you') : [
          h('button', { type: 'button', class: 'btn btn-small', onclick: (ev) => act(ev.target, () => patch(`/api/v1/users/${u.id}`, { disabled: !u.disabled }), u.disabled ? 'Enabled.' : 'Disabled; their sessions end now.') }, u.disabled ? 'Enable' : 'Disable'),
          ' ',
          h('button', { type: 'button', class: 'btn btn-small', onclick: (ev) => act(ev.target, () => post(`/api/v1/users/${u.id}/unlock`), 'Unlocked.') }, 'Unlock'),
        ]) },
      ], users) : empty('No users.', 'Add one above.'));
    } catch (err) {
      mount(body, failure(err, load));
    }
  }
  async function act(button, fn, msg) {
    const ok = await busy(button, async () => { await fn(); return true; });
    if (ok) { toast(msg, 'ok'); load(); }
  }
  await load();
}
