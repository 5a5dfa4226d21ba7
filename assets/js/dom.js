// Small DOM and formatting helpers. Text always goes in through textContent (never HTML),
// so data from the API cannot inject markup.

/** Creates an element: h('a', {href: '/x', class: 'btn', onclick: fn}, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') {
      // The attribute is the default a form reset returns to; the property is the current value.
      if (tag === 'input') el.setAttribute('value', String(v));
      el.value = v;
    } else if (k === 'checked') { el.defaultChecked = !!v; el.checked = !!v; }
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const moneyFormats = new Map();
/** Formats a decimal-string amount in its currency, e.g. ("1234.5", "EUR") -> "€1,234.50". */
export function money(amount, currency) {
  if (amount === undefined || amount === null || amount === '') return '—';
  const cur = currency || 'USD';
  let fmt = moneyFormats.get(cur);
  if (!fmt) {
    try { fmt = new Intl.NumberFormat(undefined, { style: 'currency', currency: cur }); }
    catch { fmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2 }); }
    moneyFormats.set(cur, fmt);
  }
  // The API sends decimal strings; Intl formats those exactly (no float rounding of large
  // amounts). Numbers are accepted for display-only totals.
  if (typeof amount === 'string' && /^-?\d+(\.\d+)?$/.test(amount)) return fmt.format(amount);
  const n = Number(amount);
  return Number.isFinite(n) ? fmt.format(n) : `${amount} ${cur}`;
}

const numberFormat = new Intl.NumberFormat();
export function num(n) {
  return n === undefined || n === null ? '—' : numberFormat.format(Number(n));
}

export function percent(x, digits = 1) {
  if (x === undefined || x === null) return '—';
  return new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: digits }).format(Number(x));
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function when(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : dateFormat.format(d);
}

export function time(ts) {
  const d = ts ? new Date(ts) : new Date();
  return d.toLocaleTimeString();
}

/** A badge for a severity, decision or status. */
export function badge(value) {
  if (!value) return h('span', { class: 'badge' }, '—');
  return h('span', { class: `badge badge-${String(value).replace(/[^a-z_]/gi, '')}` }, String(value));
}

/** A message saying there is nothing here yet, and what to do about it. */
export function empty(title, hint) {
  return h('div', { class: 'empty', role: 'status' }, h('p', { class: 'empty-title' }, title), hint ? h('p', {}, hint) : null);
}

/** An error box saying what went wrong and what to do. */
export function failure(err, retry) {
  const what = hintFor(err);
  return h('div', { class: 'error-box', role: 'alert' },
    h('p', { class: 'error-title' }, err && err.message ? err.message : 'Something went wrong.'),
    what ? h('p', {}, what) : null,
    err && err.details && err.details.length
      ? h('ul', {}, err.details.map((d) => h('li', {}, d.field ? `${d.field}: ${d.message}` : d.message)))
      : null,
    err && err.requestId ? h('p', { class: 'muted small' }, `Request id: ${err.requestId}`) : null,
    retry ? h('button', { type: 'button', class: 'btn', onclick: retry }, 'Try again') : null);
}

function hintFor(err) {
  if (!err) return '';
  switch (err.status) {
    case 0: return 'Check that the Ledgerguard server is running and reachable, then try again.';
    case 403: return 'Your role does not allow this. Ask an administrator for access.';
    case 404: return 'It may have been deleted, the link may be wrong, or this server does not offer it yet. Go back and pick another, or check the server version.';
    case 429: return 'Too many requests. Wait a little and try again.';
    case 503: return 'The server is not ready. Check /health or try again in a moment.';
    default: return err.status >= 500 ? 'The server failed. Try again; if it persists, give the request id to your administrator.' : '';
  }
}

/** A short-lived notice in the page's live region. */
export function toast(message, kind = 'info') {
  let region = document.getElementById('toasts');
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  const item = h('div', { class: `toast toast-${kind}` }, message);
  region.append(item);
  setTimeout(() => item.remove(), 6000);
}

/** A table from column specs {label, cell(row), class?} with a caption for screen readers. */
export function table(caption, columns, rows) {
  // Focusable so a keyboard user can scroll a wide table sideways.
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    h('table', {},
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.class }, c.cell(r))))))));
}

/** A labelled form field. `input` is an element; the label is tied to it by id. */
let fieldSeq = 0;
export function field(label, input, hint) {
  if (!input.id) input.id = `f${++fieldSeq}`;
  const hintEl = hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

export function select(name, options, value) {
  return h('select', { name },
    options.map((o) => {
      const [v, label] = Array.isArray(o) ? o : [o, o];
      return h('option', { value: v, selected: v === value ? true : null }, label);
    }));
}

/** Runs an async action from a button, disabling it meanwhile and reporting errors. */
export async function busy(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (err) {
    toast(err.message || 'The action failed.', 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Items of a list response ({items:[...]}) or a bare array. */
export function items(data) {
  if (Array.isArray(data)) return data;
  return (data && Array.isArray(data.items)) ? data.items : [];
}

/** A labelled key-value list. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === undefined || v === null || v === '' ? '—' : v)]));
}

export function pageHeader(title, ...actions) {
  return h('div', { class: 'page-header' }, h('h1', {}, title), h('div', { class: 'actions' }, actions));
}

/** A button with a link's look that navigates through the router. */
export function link(href, text, attrs = {}) {
  return h('a', { href, ...attrs }, text);
}

/** The reasons behind a score: code, message and weight. */
export function reasons(list) {
  if (!list || !list.length) return h('p', { class: 'muted' }, 'No reasons recorded: nothing in the rules or features stood out.');
  return h('ul', { class: 'reasons' }, list.map((r) => h('li', {},
    h('span', { class: 'reason-weight' }, r.weight !== undefined && r.weight !== null ? `+${r.weight}` : ''),
    h('span', {}, r.message || r.code),
    r.code ? h('code', { class: 'muted small' }, r.code) : null)));
}

/** A modal dialog with a form; resolves with the form's values or null when cancelled. */
export function dialog(title, fields, submitLabel) {
  return new Promise((resolve) => {
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel);
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const form = h('form', { method: 'dialog' }, h('h2', {}, title), fields, h('div', { class: 'actions' }, submit, cancel));
    const dlg = h('dialog', { class: 'dialog', 'aria-label': title }, form);
    document.body.append(dlg);
    let result = null;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      result = Object.fromEntries(new FormData(form).entries());
      dlg.close();
    });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    dlg.showModal();
    const first = form.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}
