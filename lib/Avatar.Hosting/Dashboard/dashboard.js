'use strict';
// Renders each page from the JSON API and refreshes it every second; the HttpOnly cookie authenticates the calls.
const page = document.body.dataset.page;
const arg = document.body.dataset.arg;
const main = document.getElementById('main');
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const api = async path => {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
};
const filters = {};

function filterBar(fields) {
  if (document.getElementById('filters')) return;
  const bar = document.createElement('div');
  bar.id = 'filters';
  bar.innerHTML = fields.map(f => `<label>${f} <input name="${f}" id="f-${f}"></label> `).join('');
  main.before(bar);
  bar.addEventListener('input', e => { filters[e.target.name] = e.target.value; refresh(); });
}
const query = () => Object.entries(filters).filter(([, v]) => v).map(([k, v]) => k + '=' + encodeURIComponent(v)).join('&');

async function resources() {
  const list = await api('/api/resources');
  // Keep open environment panels open across refreshes.
  const open = new Set([...main.querySelectorAll('details[open]')].map(d => d.dataset.name));
  main.innerHTML = `<table id="resources"><tr><th>Name</th><th>Type</th><th>State</th><th>Health</th><th>Endpoints</th><th>Replicas</th><th>Restarts</th><th>PID</th><th>Actions</th></tr>` +
    list.map(r => `<tr data-resource="${esc(r.name)}"><td><a href="/console/${encodeURIComponent(r.name)}">${esc(r.name)}</a></td><td>${esc(r.type)}</td>
      <td class="state state-${esc(r.state)}">${esc(r.state)}</td><td class="health">${esc(r.health)}</td>
      <td>${r.endpoints.map(e => `<a href="${esc(e)}" target="_blank">${esc(e)}</a>`).join('<br>')}</td>
      <td>${r.replicas.length}</td><td>${r.restarts}</td><td>${r.replicas.map(p => esc(p.pid)).join(', ')}</td>
      <td>${['stop', 'start', 'restart'].map(a => `<button data-action="${a}" data-name="${esc(r.name)}">${a}</button>`).join(' ')}</td></tr>
      ${r.environment.length ? `<tr><td colspan="9"><details data-name="${esc(r.name)}" ${open.has(r.name) ? 'open' : ''}><summary>Environment</summary>
      <table>${r.environment.map(e => `<tr><td>${esc(e.name)}</td><td>${esc(e.value)}</td></tr>`).join('')}</table></details></td></tr>` : ''}`).join('') + '</table>';
}

main.addEventListener('click', async e => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  b.disabled = true;
  await fetch(`/api/resources/${encodeURIComponent(b.dataset.name)}/${b.dataset.action}`, { method: 'POST', credentials: 'same-origin' });
  refresh();
});

async function consoleLog() {
  const lines = await api('/api/console/' + encodeURIComponent(arg));
  const atBottom = !main.firstChild || main.firstChild.scrollTop + main.firstChild.clientHeight >= main.firstChild.scrollHeight - 4;
  main.innerHTML = `<pre class="console">${lines.map(l => `<span class="${l.isError ? 'err' : ''}">[${esc(l.source)}] ${esc(l.text)}</span>`).join('\n')}</pre>`;
  if (atBottom) main.firstChild.scrollTop = main.firstChild.scrollHeight;
}

async function logs() {
  filterBar(['resource', 'level', 'text']);
  const list = await api('/api/logs?' + query());
  main.innerHTML = `<table id="logs"><tr><th>Time</th><th>Resource</th><th>Level</th><th>Message</th><th>Trace</th></tr>` +
    list.reverse().map(l => `<tr><td>${esc(new Date(l.timestamp).toLocaleTimeString())}</td><td>${esc(l.resource)}</td>
      <td class="lvl-${esc(l.level)}">${esc(l.level)}</td><td>${esc(l.message)}</td>
      <td>${l.traceId ? `<a href="/traces/${l.traceId}">${l.traceId.slice(0, 8)}</a>` : ''}</td></tr>`).join('') + '</table>';
}

async function traces() {
  filterBar(['service']);
  const list = await api('/api/traces?' + query());
  main.innerHTML = `<table id="traces"><tr><th>Time</th><th>Name</th><th>Services</th><th>Spans</th><th>Duration</th></tr>` +
    list.map(t => `<tr><td>${esc(new Date(t.start).toLocaleTimeString())}</td><td><a href="/traces/${t.traceId}">${esc(t.name)}</a></td>
      <td>${esc(t.services.join(', '))}</td><td>${t.spans}</td><td>${t.durationMs.toFixed(2)} ms</td></tr>`).join('') + '</table>';
}

async function trace() {
  const t = await api('/api/traces/' + encodeURIComponent(arg));
  const depth = {};
  for (const s of t.spans) depth[s.spanId] = s.parentSpanId in depth ? depth[s.parentSpanId] + 1 : 0;
  const total = Math.max(t.durationMs, 0.001);
  main.innerHTML = `<p>${t.spans.length} spans, ${t.durationMs.toFixed(2)} ms</p><table id="waterfall"><tr><th>Service</th><th>Span</th><th style="width:50%">Timeline</th><th>Duration</th></tr>` +
    t.spans.map(s => `<tr class="span" data-service="${esc(s.service)}"><td>${esc(s.service)}</td><td style="padding-left:${depth[s.spanId] * 16 + 6}px">${esc(s.name)}</td>
      <td><div class="lane"><div class="bar" style="left:${s.offsetMs / total * 100}%;width:${s.durationMs / total * 100}%"></div></div></td>
      <td>${s.durationMs.toFixed(2)} ms ${s.status === 'Error' ? '<b class="lvl-Error">error</b>' : ''}</td></tr>`).join('') + '</table>';
}

function chart(series, w = 360, h = 120) {
  const pts = series.flatMap(s => s.points);
  if (!pts.length) return '';
  const t0 = Math.min(...pts.map(p => p.t)), t1 = Math.max(...pts.map(p => p.t), t0 + 1);
  const v0 = Math.min(0, ...pts.map(p => p.v)), v1 = Math.max(...pts.map(p => p.v), v0 + 1);
  const x = t => (t - t0) / (t1 - t0) * (w - 40) + 35, y = v => h - 15 - (v - v0) / (v1 - v0) * (h - 25);
  const colors = ['#4f6bed', '#c50f1f', '#107c10', '#9d5d00', '#8764b8'];
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><text x="0" y="10" font-size="9">${esc(v1.toPrecision(3))}</text>
    <text x="0" y="${h - 15}" font-size="9">${esc(v0.toPrecision(3))}</text>` +
    series.map((s, i) => `<polyline fill="none" stroke="${colors[i % colors.length]}" points="${s.points.map(p => x(p.t).toFixed(1) + ',' + y(p.v).toFixed(1)).join(' ')}"><title>${esc(s.attributes)}</title></polyline>`).join('') + '</svg>';
}

async function metrics() {
  filterBar(['service']);
  const list = await api('/api/metrics?' + query());
  main.innerHTML = list.map(m => `<div class="chart"><b>${esc(m.service)}: ${esc(m.name)}</b> ${esc(m.unit)}<br><small>${esc(m.description)}</small><br>${chart(m.series)}</div>`).join('') || '<p>No metrics yet.</p>';
}

const renderers = { resources, console: consoleLog, logs, traces, trace, metrics };
let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try { await renderers[page](); } catch (e) { main.dataset.error = e.message; } finally { busy = false; }
}
refresh();
setInterval(refresh, 1000);
