// Lists (block/allow lists of countries, merchants, devices, IPs, accounts, email domains)
// used by rules: create a list, add and remove values.

import { get, post, del, can } from '../api.js';
import { h, mount, badge, failure, busy, toast, field, select, pageHeader, items, empty } from '../dom.js';

const KINDS = ['country', 'merchant', 'device', 'ip', 'account', 'email_domain'];

export async function render({ main }) {
  const body = h('div');
  const editable = can('analyst');
  const name = h('input', { name: 'name', required: true, maxlength: '64', pattern: '[A-Za-z0-9_.-]+' });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create list');
  const createForm = h('form', { class: 'row card' }, field('Name', name, 'Letters, digits, _ . -; rules refer to it by name.'),
    field('Kind', select('kind', KINDS, 'country')), field('Mode', select('mode', ['block', 'allow'], 'block')), createBtn);
  createForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!createForm.reportValidity()) return;
    const values = Object.fromEntries(new FormData(createForm).entries());
    const ok = await busy(createBtn, async () => { await post('/api/v1/lists', values); return true; });
    if (ok) { toast('List created.', 'ok'); createForm.reset(); load(); }
  });
  mount(main, pageHeader('Lists'), editable ? createForm : null, body);
  main.querySelector('h1').id = 'page-title';

  async function load() {
    let lists;
    try {
      lists = items(await get('/api/v1/lists?limit=500'));
      // The index carries counts; each list's values come with its own record.
      lists = await Promise.all(lists.map((l) => (l.items ? l
        : get(`/api/v1/lists/${encodeURIComponent(l.id)}`).then((d) => ({ ...l, ...(d.list || d) }), () => l))));
    } catch (err) {
      mount(body, failure(err, load));
      return;
    }
    if (!lists.length) {
      mount(body, empty('No lists yet.', editable ? 'Create one above, then use it in a rule: lists.contains("name", txn.country).' : 'An analyst can create lists.'));
      return;
    }
    mount(body, lists.map((l) => {
      const values = items(l.items || l.values);
      const input = h('input', { name: 'value', required: true, maxlength: '320', 'aria-label': `New value for ${l.name}` });
      const add = h('form', { class: 'row' }, input, h('button', { type: 'submit', class: 'btn' }, 'Add'));
      add.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        if (!input.value.trim()) return;
        const ok = await busy(add.querySelector('button'), async () => { await post(`/api/v1/lists/${encodeURIComponent(l.id)}/items`, { value: input.value.trim() }); return true; });
        if (ok) { toast('Value added.', 'ok'); load(); }
      });
      return h('section', { class: 'card' },
        h('h2', {}, l.name, ' ', badge(l.mode), ' ', h('span', { class: 'muted small' }, l.kind)),
        values.length ? h('ul', { class: 'chips' }, values.map((v) => {
          const value = typeof v === 'string' ? v : v.value;
          return h('li', { class: 'chip' }, value, editable ? h('button', {
            type: 'button', class: 'chip-remove', 'aria-label': `Remove ${value} from ${l.name}`,
            onclick: async (ev) => { const ok = await busy(ev.target, async () => { await del(`/api/v1/lists/${encodeURIComponent(l.id)}/items/${encodeURIComponent(value)}`); return true; }); if (ok) load(); },
          }, '×') : null);
        })) : h('p', { class: 'muted' }, 'Empty list.'),
        editable ? add : null);
    }));
  }
  await load();
}
