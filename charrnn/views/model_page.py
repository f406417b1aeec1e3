"""A model as one page (`charrnn page CKPT model.html`): one self-contained HTML file that runs the
model in the browser -- the weights inline (reports/page.py), the network's test-time step in
JavaScript from its own module (networks/*: page_step), sampling as `charrnn sample` does it.
Nothing is fetched. A prime box, temperature, top-k and top-p, generate and stop; the text
appears as it is sampled; hovering or focusing a character shows the five most likely
characters at that step with their probabilities."""

from __future__ import annotations

import html

from charrnn.ground.activations import JS as ACTIVATIONS_JS
from charrnn.views.pages import page

BODY = """
<header>
  <h1 id="title">charrnn</h1>
  <p id="about"></p>
</header>
<main>
  <div class="controls">
    <label for="prime">Prime</label>
    <textarea id="prime" rows="2" cols="40" spellcheck="false"></textarea>
  </div>
  <div class="controls">
    <label>Temperature <input id="temperature" type="number" min="0.05" max="5" step="0.05" value="1"></label>
    <label>Top-k <input id="topk" type="number" min="0" step="1" value="0"></label>
    <label>Top-p <input id="topp" type="number" min="0.01" max="1" step="0.01" value="1"></label>
    <label><span id="length-label">Characters</span> <input id="length" type="number" min="1" max="20000" value="500"></label>
    <label id="items-label" hidden>Items <input id="items" type="number" min="1" max="200" value="10"></label>
    <button id="go" type="button">Generate</button>
    <button id="stop" type="button" disabled>Stop</button>
  </div>
  <p class="note" id="status" aria-live="polite"></p>
  <div id="out" class="text" aria-label="generated text"></div>
  <p class="note">Hover or focus (Tab) a generated character: the five characters the model thought most likely there,
  with their probabilities (after temperature, top-k and top-p).</p>
  <div id="tip" role="tooltip" hidden></div>
</main>
"""

HELPERS_JS = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const $ = (id) => document.getElementById(id);
function half(b) {  // float16 bits -> number
  const s = b & 0x8000 ? -1 : 1, e = (b >> 10) & 0x1f, f = b & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
function decode(w) {
  const bin = atob(w.b64), bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const n = w.shape.reduce((a, b) => a * b, 1), data = new Float64Array(n), view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) data[i] = D.precision === 'float16' ? half(view.getUint16(2 * i, true)) : view.getFloat32(4 * i, true);
  return {rows: w.shape[0], cols: w.shape.length > 1 ? w.shape[1] : 1, data, t: null};
}
function matvec(w, x) {  // w (rows, cols) times x (cols): x W^T for one stream
  const out = new Float64Array(w.rows);
  for (let i = 0; i < w.rows; i++) {
    let s = 0;
    const o = i * w.cols;
    for (let j = 0; j < w.cols; j++) s += w.data[o + j] * x[j];
    out[i] = s;
  }
  return out;
}
function column(w, c) {  // column c of w: onehot(c) W^T, a gather (from the transpose, made once)
  if (!w.t) {
    w.t = new Float64Array(w.rows * w.cols);
    for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) w.t[j * w.rows + i] = w.data[i * w.cols + j];
  }
  return w.t.slice(c * w.rows, (c + 1) * w.rows);
}
function addTo(a, b) { for (let i = 0; i < a.length; i++) a[i] += b[i]; }
"""

SAMPLING_JS = r"""
const W = Object.fromEntries(Object.entries(D.weights).map(([n, w]) => [n, decode(w)]));
const cfg = D.config, V = D.vocab.length, SEP = cfg.item_start;
const index = new Map(D.vocab.map((c, i) => [c, i]));
function step(x, state) {  // sampling.step: a line break starts a list's item afresh
  if (SEP !== null && x === SEP) state = zeroState(cfg);
  const r = netStep(x, state, W, cfg);
  const logits = matvec(W['decoder.weight'], r.h);
  addTo(logits, W['decoder.bias'].data);
  return {logits, state: r.state};
}
function distribution(logits, temperature, topk, topp) {  // sampling.sampling_distribution
  let z = Array.from(logits, (v) => v / temperature);
  if (topk > 0 && topk < V) {
    const kth = [...z].sort((a, b) => b - a)[topk - 1];
    z = z.map((v) => (v >= kth ? v : -Infinity));
  }
  const m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
  let p = e.map((v) => v / s);
  if (topp < 1) {
    const order = p.map((v, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    const keep = new Array(V).fill(false);
    let before = 0;
    for (const i of order) { if (before < topp) keep[i] = true; before += p[i]; }
    p = p.map((v, i) => (keep[i] ? v : 0));
    const t = p.reduce((a, b) => a + b, 0);
    p = p.map((v) => v / t);
  }
  return p;
}
function argmax(a) { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; }
function draw(p) {
  let u = Math.random(), c = 0;
  for (let i = 0; i < p.length; i++) { c += p[i]; if (u < c) return i; }
  return argmax(p);
}
function warm(prime) {  // sampling.warm_start: the prime read teacher forced, its last character the first input
  const text = (SEP !== null ? D.vocab[SEP] : '') + prime;
  const ids = text ? Array.from(text, (c) => index.get(c)) : [index.has('\n') ? index.get('\n') : 0];
  if (ids.some((i) => i === undefined)) throw new Error('the prime has characters the model never saw');
  let state = zeroState(cfg);
  for (const c of ids.slice(0, -1)) state = step(c, state).state;
  return {state, x: ids[ids.length - 1]};
}
// what the tests ask of the page: the distribution after a prime, greedy text
window.charrnnPage = {
  distribution(prime) { const w = warm(prime); return Array.from(distribution(step(w.x, w.state).logits, 1, 0, 1)); },
  greedy(prime, n) {
    let {state, x} = warm(prime), out = '';
    for (let i = 0; i < n; i++) {
      const r = step(x, state);
      state = r.state; x = argmax(r.logits); out += D.vocab[x];
      if (SEP !== null && x === SEP) break;
    }
    return out;
  },
};
"""

UI_JS = r"""
const m = D.model, out = $('out'), tip = $('tip');
$('title').textContent = `charrnn: ${m.label}`;
$('about').textContent = `${m.parameters.toLocaleString()} parameters, trained on ${m.corpus || 'a text'}` +
  (m.val_loss !== null ? `, validation loss ${m.val_loss.toFixed(3)} nats/char` : '') +
  `; weights in ${D.precision}` + (m.is_list ? '; a list model: whole items, one a line' : '');
if (m.is_list) { $('items-label').hidden = false; $('length-label').textContent = 'Characters per item'; $('length').value = 40; }
let running = false, tops = [];
function showTip(el) {
  const t = tops[+el.dataset.i];
  tip.innerHTML = '<table>' + t.map(([c, p]) => `<tr class="pred" data-p="${p}"><td>${esc(c)}</td><td>${(100 * p).toFixed(1)}%</td></tr>`).join('') + '</table>';
  tip.hidden = false;
  const r = el.getBoundingClientRect();
  tip.style.left = Math.min(r.left, innerWidth - tip.offsetWidth - 8) + 'px';
  tip.style.top = (r.bottom + 4) + 'px';
}
function esc(c) { return c === '\n' ? '\u21b5' : c === ' ' ? '\u2423' : c.replace(/[&<>"]/g, (x) => '&#' + x.charCodeAt(0) + ';'); }
out.addEventListener('mouseover', (e) => { if (e.target.dataset.i) showTip(e.target); });
out.addEventListener('focusin', (e) => { if (e.target.dataset.i) showTip(e.target); });
out.addEventListener('mouseout', () => { tip.hidden = true; });
out.addEventListener('focusout', () => { tip.hidden = true; });
function emit(c, p) {
  const s = document.createElement('span');
  s.className = 'c'; s.tabIndex = 0; s.dataset.i = tops.length; s.textContent = c;
  tops.push(p.map((v, i) => [D.vocab[i], v]).sort((a, b) => b[1] - a[1]).slice(0, 5));
  out.appendChild(s);
}
async function generate() {
  const temperature = +$('temperature').value || 1, topk = +$('topk').value || 0, topp = +$('topp').value || 1;
  const length = Math.max(1, +$('length').value || 1), items = m.is_list ? Math.max(1, +$('items').value || 1) : 1;
  out.textContent = ''; tops = []; running = true;
  $('go').disabled = true; $('stop').disabled = false; $('status').textContent = 'generating...';
  try {
    for (let item = 0; item < items && running; item++) {
      let {state, x} = warm($('prime').value);
      out.appendChild(document.createTextNode($('prime').value));
      for (let i = 0; i < length && running; i++) {
        const r = step(x, state);
        state = r.state;
        const p = distribution(r.logits, temperature, topk, topp);
        x = draw(p);
        if (m.is_list && x === SEP) break;
        emit(D.vocab[x], p);
        if (i % 16 === 15) await new Promise((done) => setTimeout(done, 0));  // let the page draw, and Stop work
      }
      if (m.is_list) out.appendChild(document.createTextNode('\n'));
    }
    $('status').textContent = running ? 'done' : 'stopped';
  } catch (err) {
    $('status').textContent = err.message;
  }
  running = false; $('go').disabled = false; $('stop').disabled = true;
}
$('go').addEventListener('click', generate);
$('stop').addEventListener('click', () => { running = false; });
"""

STYLE = """
<style>
textarea { width: 100%; max-width: 640px; font: 14px ui-monospace, monospace; }
.controls input[type=number] { width: 5.5em; }
.controls label { white-space: nowrap; }
button { font: inherit; padding: 4px 14px; }
#out { min-height: 6em; margin-top: 8px; }
</style>
"""


def model_page(data: dict, step_js: str) -> str:
    """The page: the data inline, the network's step (`step_js`), the shared helpers and sampling."""
    title = f"charrnn: {data['model']['label']}"
    script = "\n".join((HELPERS_JS, ACTIVATIONS_JS, step_js, SAMPLING_JS, UI_JS))
    return page(html.unescape(title), STYLE + BODY, data, script)
