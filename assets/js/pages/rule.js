// Rule editor with live validation of the expression, backtest over stored history, and
// version history. `/rules/new` creates.

import { get, post, patch, del, can } from '../api.js';
import { h, mount, facts, failure, busy, toast, field, select, pageHeader, items, when, num, percent, table } from '../dom.js';

export async function render({ main, params, navigate }) {
  const isNew = params.id === 'new';
  let rule = { name: '', description: '', expression: '', score: 50, action: 'flag', enabled: true };
  let versions = [];
  if (!isNew) {
    try {
      const data = await get(`/api/v1/rules/${encodeURIComponent(params.id)}`);
      rule = data.rule || data;
      versions = items(await get(`/api/v1/rules/${encodeURIComponent(params.id)}/versions`).catch(() => []));
    } catch (err) {
      mount(main, pageHeader('Rule'), failure(err), h('a', { href: '/rules' }, 'Back to rules'));
      main.querySelector('h1').id = 'page-title';
      return;
    }
  }
  const editable = can('analyst');
  const name = h('input', { name: 'name', value: rule.name, required: true, maxlength: '64', pattern: '[A-Za-z0-9_.-]+', disabled: !editable });
  const description = h('textarea', { name: 'description', rows: '2', maxlength: '2000', disabled: !editable });
  description.value = rule.description || '';
  const expression = h('textarea', { name: 'expression', id: 'rule-expression', rows: '5', class: 'code', spellcheck: 'false', required: true, disabled: !editable, 'aria-describedby': 'expression-status' });
  expression.value = rule.expression || '';
  const exprStatus = h('div', { id: 'expression-status', class: 'validation', 'aria-live': 'polite' });
  const score = h('input', { type: 'number', name: 'score', min: '0', max: '100', value: String(rule.score ?? 50), required: true, disabled: !editable });
  const action = select('action', [['flag', 'flag: add score and reason'], ['review', 'review: at least review'], ['block', 'block'], ['freeze', 'freeze: block and freeze the account']], rule.action);
  action.disabled = !editable;
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: rule.enabled !== false, disabled: !editable });
  const formError = h('div', { 'aria-live': 'assertive' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-rule' }, isNew ? 'Create rule' : 'Save new version');
  const form = h('form', { class: 'card stack', novalidate: true },
    formError,
    field('Name', name, 'Letters, digits, _ . - (it names the reason in scoring results), e.g. large_foreign_online.'), field('Description', description),
    field('Expression (CEL)', expression, 'Example: txn.amount > 5000.0 && features.new_country > 0.0 — checked as you type.'), exprStatus,
    h('div', { class: 'row' }, field('Score (0–100)', score), field('Action', action),
      h('div', { class: 'field checkbox' }, h('label', {}, enabled, ' Enabled'))),
    editable ? h('div', { class: 'actions' }, save,
      !isNew ? h('button', { type: 'button', class: 'btn btn-danger', onclick: remove }, 'Delete') : null) : null);

  let validateTimer = null;
  let validateSeq = 0;
  async function validate() {
    const seq = ++validateSeq;
    const expr = expression.value;
    if (!expr.trim()) { mount(exprStatus, h('p', { class: 'muted' }, 'Write an expression; it is checked as you type.')); return; }
    try {
      const r = await post('/api/v1/rules/validate', { expression: expr });
      if (seq !== validateSeq) return;
      expression.setAttribute('aria-invalid', String(!r.valid));
      mount(exprStatus, r.valid
        ? h('p', { class: 'ok' }, '✓ The expression is valid.')
        : h('ul', { class: 'invalid' }, (r.errors || []).map((e) => h('li', {}, e.position !== undefined && e.position !== null ? `At ${typeof e.position === 'object' ? JSON.stringify(e.position) : e.position}: ${e.message}` : e.message))));
    } catch (err) {
      if (seq === validateSeq) mount(exprStatus, h('p', { class: 'invalid' }, `Could not check the expression: ${err.message}`));
    }
  }
  expression.addEventListener('input', () => { clearTimeout(validateTimer); validateTimer = setTimeout(validate, 300); });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(formError);
    const body = { name: name.value.trim(), description: description.value, expression: expression.value, score: Number(score.value), action: action.value, enabled: enabled.checked };
    const saved = await busy(save, async () => {
      try {
        return isNew ? await post('/api/v1/rules', body) : await patch(`/api/v1/rules/${encodeURIComponent(params.id)}`, body);
      } catch (err) {
        mount(formError, failure(err));
        return null;
      }
    });
    if (saved) {
      toast(isNew ? 'Rule created.' : 'Rule saved.', 'ok');
      const r = saved.rule || saved;
      navigate(`/rules/${encodeURIComponent(r.id)}`, { replace: true });
    }
  });

  async function remove(ev) {
    if (!window.confirm(`Delete the rule “${rule.name}”? It stops scoring at once.`)) return;
    const ok = await busy(ev.target, async () => { await del(`/api/v1/rules/${encodeURIComponent(params.id)}`); return true; });
    if (ok) { toast('Rule deleted.', 'ok'); navigate('/rules'); }
  }

  // Backtest
  const now = new Date();
  const from = h('input', { type: 'date', name: 'from', value: new Date(now.getTime() - 30 * 86400e3).toISOString().slice(0, 10), required: true });
  const to = h('input', { type: 'date', name: 'to', value: now.toISOString().slice(0, 10), required: true });
  const btResult = h('div', { id: 'backtest-result', 'aria-live': 'polite' });
  const btButton = h('button', { type: 'submit', class: 'btn' }, 'Run backtest');
  const btForm = h('form', { class: 'row' }, field('From', from), field('To', to), btButton);
  btForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(btResult, h('p', { class: 'muted' }, 'Running over stored history…'));
    await busy(btButton, async () => {
      try {
        const r = await post('/api/v1/rules/backtest', { expression: expression.value, from: `${from.value}T00:00:00Z`, to: `${to.value}T23:59:59Z` });
        mount(btResult, facts([
          ['Evaluated', num(r.evaluated)], ['Matched', num(r.matched)],
          ['Matched fraud', num(r.matched_fraud)], ['Matched legitimate', num(r.matched_legitimate)],
          ['Precision', r.precision === null ? 'no labels yet' : percent(r.precision)],
          ['Recall', r.recall === null ? 'no labels yet' : percent(r.recall)],
          ['Sample', (r.sample_ids || []).length ? h('ul', {}, r.sample_ids.slice(0, 10).map((id) => h('li', {}, h('a', { href: `/transactions/${encodeURIComponent(id)}` }, id)))) : 'none'],
        ]));
      } catch (err) {
        mount(btResult, failure(err));
      }
    });
  });

  mount(main,
    pageHeader(isNew ? 'New rule' : `Rule · ${rule.name}`),
    h('p', {}, h('a', { href: '/rules' }, '← Rules')),
    form,
    h('section', { class: 'card' }, h('h2', {}, 'Backtest'),
      h('p', { class: 'muted' }, 'See what the expression above would have caught over stored transactions, before enabling it.'),
      btForm, btResult),
    !isNew ? h('section', { class: 'card' }, h('h2', {}, 'Versions'),
      versions.length ? table('Rule versions', [
        { label: 'Version', class: 'num', cell: (v) => v.version },
        { label: 'Expression', cell: (v) => h('code', {}, v.expression) },
        { label: 'Score', class: 'num', cell: (v) => v.score },
        { label: 'Action', cell: (v) => v.action },
        { label: 'Saved', cell: (v) => when(v.created_at) },
      ], versions) : h('p', { class: 'muted' }, 'No earlier versions.')) : null);
  main.querySelector('h1').id = 'page-title';
  if (expression.value) validate();
  return () => clearTimeout(validateTimer);
}
