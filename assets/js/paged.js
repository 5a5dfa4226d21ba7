// A paged table over a list endpoint ({items, next_cursor}): first page, then "Load more".

import { get, query } from './api.js';
import { h, mount, table, empty, failure, items as itemsOf } from './dom.js';

/**
 * Renders into `el` the list at `path` with `params`, as a table of `columns`.
 * `emptyState` is an element shown when there is nothing.
 */
export async function pagedTable(el, { path, params = {}, caption, columns, emptyState }) {
  let cursor = null;
  const rows = [];
  const more = h('button', { type: 'button', class: 'btn' }, 'Load more');
  const holder = h('div');
  async function page() {
    more.disabled = true;
    try {
      const data = await get(`${path}${query({ ...params, cursor, limit: 50 })}`);
      rows.push(...itemsOf(data));
      cursor = data && data.next_cursor ? data.next_cursor : null;
      if (!rows.length) {
        mount(el, emptyState || empty('Nothing here yet.'));
        return;
      }
      mount(holder, table(caption, columns, rows));
      mount(el, holder, cursor ? more : null);
    } catch (err) {
      mount(el, failure(err, page));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', page);
  mount(el, h('p', { class: 'muted' }, 'Loading…'));
  await page();
  return rows;
}

/** A filter form whose fields are read as an object on submit. */
export function filterForm(fields, onApply, label = 'Filters') {
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': label }, fields,
    h('button', { type: 'submit', class: 'btn' }, 'Apply'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    onApply(Object.fromEntries(new FormData(form).entries()));
  });
  return form;
}
