// Message analysis: paste an SMS, email or chat message and see whether it looks like a scam,
// with the indicators that say why.

import { post } from '../api.js';
import { h, mount, failure, busy, field, select, pageHeader, badge } from '../dom.js';

export async function render({ main }) {
  const message = h('textarea', { name: 'message_content', id: 'message', rows: '6', required: true, maxlength: '10000' });
  const sender = h('input', { name: 'sender', maxlength: '320' });
  const channel = select('channel', [['', 'Unknown'], ['sms', 'SMS'], ['email', 'Email'], ['chat', 'Chat']], '');
  const result = h('div', { id: 'analysis-result', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Analyze');
  const form = h('form', { class: 'card stack' },
    field('Message', message, 'The text is analysed on this server and not stored.'),
    h('div', { class: 'row' }, field('Sender (optional)', sender), field('Channel', channel)), submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!message.value.trim()) { mount(result, failure({ message: 'Paste the message to analyse first.' })); return; }
    const body = { message_content: message.value };
    if (sender.value.trim()) body.sender = sender.value.trim();
    if (channel.value) body.channel = channel.value;
    await busy(submit, async () => {
      try {
        const r = await post('/api/v1/analyze', body);
        const score = Number(r.score);
        mount(result, h('section', { class: 'card' },
          h('h2', {}, 'Verdict: ', badge(r.label)),
          h('p', {}, `Score ${Number.isFinite(score) ? `${score} / 100` : '—'} · model ${r.model_version || '—'}`),
          (r.indicators || []).length
            ? h('ul', { class: 'reasons' }, r.indicators.map((i) => h('li', {}, h('span', {}, i.message || i.code), h('code', { class: 'muted small' }, i.code))))
            : h('p', { class: 'muted' }, 'No scam indicators found.')));
      } catch (err) {
        mount(result, failure(err));
      }
    });
  });
  mount(main, pageHeader('Message analysis'), form, result);
  main.querySelector('h1').id = 'page-title';
}
