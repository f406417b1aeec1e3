"""Self-contained HTML pages, drawn from the plain data of `reports/neurons.py` and `reports/inspect.py`: one
file each, the data inline as JSON, no script, style or font fetched from anywhere, readable
from a phone's width up. The neurons page colours a text by what one unit does; the gradient
page draws `inspect-gradients` as charts and tables."""

from __future__ import annotations

import html
import json

from charrnn.views.terminal import finite_or_none

STYLE = """
:root { --ink: #1d2430; --muted: #5b6472; --line: #d7dce3; --bg: #fbfbfc; --accent: #2b5d9e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); }
header { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 1px solid var(--line);
         padding: 10px 16px; }
header h1 { font-size: 18px; margin: 0 0 2px; }
header p { margin: 0; color: var(--muted); font-size: 13px; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 16px 48px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; margin-top: 8px; }
.controls select { max-width: 100%; font-size: 14px; padding: 3px; }
.key { display: flex; align-items: center; gap: 6px; font-size: 12px; color: var(--muted); }
.key .bar { width: 160px; height: 12px; border: 1px solid var(--line); border-radius: 2px; }
.text { font: 14px/1.9 ui-monospace, SFMono-Regular, Menlo, Consolas, "Noto Sans Mono CJK JP", monospace;
        white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid var(--line);
        border-radius: 4px; padding: 10px; }
.text span { border-radius: 2px; }
.text span:focus { outline: 2px solid var(--accent); }
.nl { color: #9aa3ad; }
#tip { position: fixed; z-index: 3; background: #fff; border: 1px solid var(--line); border-radius: 4px;
       box-shadow: 0 2px 10px rgba(0,0,0,.12); padding: 6px 10px; font-size: 13px; pointer-events: none;
       max-width: 280px; }
#tip table { border-collapse: collapse; }
#tip td { padding: 0 6px 0 0; font-family: ui-monospace, monospace; }
.scroll { overflow-x: auto; }
table.data { border-collapse: collapse; font-size: 13px; min-width: 100%; }
table.data th, table.data td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line);
                               white-space: nowrap; }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
button.unit { font: inherit; border: 0; background: none; color: var(--accent); cursor: pointer; padding: 0;
              text-decoration: underline; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 8px; }
figcaption { font-size: 13px; color: var(--muted); }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
.note { color: var(--muted); font-size: 13px; }
@media (max-width: 600px) { body { font-size: 14px; } .text { font-size: 13px; padding: 6px; }
                            header { position: static; } .key .bar { width: 110px; }
                            table.data th, table.data td { white-space: normal; overflow-wrap: anywhere; } }
"""


def page(title: str, body: str, data: dict, script: str) -> str:
    """One HTML file: the style, the body, the data as inline JSON, the script that draws it."""
    payload = json.dumps(finite_or_none(data), ensure_ascii=False, separators=(",", ":"))
    payload = payload.replace("</", "<\\/")  # the data can never close its own script element
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n'
            f'<script type="application/json" id="data">{payload}</script>\n<script>\n{script}\n</script>\n'
            f'</body></html>\n')


# ------------------------------------------------------------------------------- neurons
NEURONS_BODY = """
<header>
  <h1>What the units learned</h1>
  <p id="about"></p>
  <div class="controls">
    <label>Unit <select id="unit" aria-label="unit to colour the text by"></select></label>
    <label><input type="checkbox" id="by-loss"> colour by loss (where the model was surprised)</label>
    <span class="key" id="key" aria-label="colour key"><span id="key-low"></span><span class="bar" id="key-bar"></span>
      <span id="key-high"></span></span>
  </div>
</header>
<main>
  <h2>The text, coloured by the unit</h2>
  <p class="note">Hover over a character, or move to it with Tab, to see the model's five most likely next
  characters and the loss of the real one.</p>
  <div id="text" class="text" role="document"></div>
  <div id="tip" role="tooltip" hidden></div>
  <h2>Units that track properties of the text</h2>
  <p class="note" id="ranking-note"></p>
  <div id="ranking" class="grid"></div>
  <h2 id="saturation-title">Gate saturation</h2>
  <p class="note" id="saturation-note"></p>
  <div id="saturation" class="grid"></div>
</main>
"""

NEURONS_SCRIPT = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const $ = (id) => document.getElementById(id);
const NEG = [33, 102, 172], MID = [255, 255, 255], POS = [178, 24, 43], GATE = [0, 109, 44], HOT = [217, 72, 1];
const mix = (a, b, t) => a.map((x, i) => Math.round(x + (b[i] - x) * t));
const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
function colour(v, gate) {            // v in -1..1 (states) or 0..1 (gates)
  if (gate) return rgb(mix(MID, GATE, Math.max(0, Math.min(1, v))));
  return v < 0 ? rgb(mix(MID, NEG, Math.min(1, -v))) : rgb(mix(MID, POS, Math.min(1, v)));
}
const LOSS_MAX = 6;
const lossColour = (l) => rgb(mix(MID, HOT, Math.max(0, Math.min(1, l / LOSS_MAX))));
const shown = (ch) => ch === '\n' ? '\u21b5' : ch === '\t' ? '\u2192' : ch === ' ' ? '\u00b7' : ch;
const unitName = (u) => `layer ${u.layer} ${u.kind}[${u.index}]`;

const m = D.model;
$('about').textContent = `${m.label}: ${D.shown_characters.toLocaleString()} of ${D.characters.toLocaleString()} ` +
  `characters shown, ${D.units.length} of ${D.units_total} units included (the best-tracking first); ` +
  `ranking and saturation over the whole text.`;

// the text: one span per character
const box = $('text'), spans = [];
for (let i = 0; i < D.shown_characters; i++) {
  const ch = D.text[i], s = document.createElement('span');
  s.className = 'c' + (ch === '\n' ? ' nl' : '');
  s.dataset.i = i;
  s.tabIndex = 0;
  s.textContent = ch === '\n' ? '\u21b5\n' : ch;
  box.appendChild(s); spans.push(s);
}

// the unit list
const select = $('unit');
let group = null, groupKey = '';
D.units.forEach((u, k) => {
  const key = `layer ${u.layer}: ${u.shown_as}`;
  if (key !== groupKey) { group = document.createElement('optgroup'); group.label = key; select.appendChild(group); groupKey = key; }
  const o = document.createElement('option'); o.value = k; o.textContent = unitName(u); group.appendChild(o);
});

function paint() {
  const byLoss = $('by-loss').checked, u = D.units[+select.value];
  spans.forEach((s, i) => {
    s.style.backgroundColor = byLoss ? lossColour(D.predictions.loss[i]) : colour(u.values[i] / 127, u.gate);
  });
  const low = byLoss ? '0 nats' : (u.gate ? '0' : '-1'), high = byLoss ? `${LOSS_MAX}+ nats` : '+1';
  $('key-low').textContent = low; $('key-high').textContent = high + (byLoss ? '' : ` ${u.shown_as}`);
  $('key-bar').style.background = byLoss ? `linear-gradient(90deg, ${rgb(MID)}, ${rgb(HOT)})` : u.gate
    ? `linear-gradient(90deg, ${rgb(MID)}, ${rgb(GATE)})` : `linear-gradient(90deg, ${rgb(NEG)}, ${rgb(MID)}, ${rgb(POS)})`;
}
select.addEventListener('change', paint);
$('by-loss').addEventListener('change', paint);

// predictions on hover and focus
const tip = $('tip');
function showTip(ev) {
  const s = ev.target.closest('span.c'); if (!s) return;
  const i = +s.dataset.i, P = D.predictions, real = D.text[i + 1];
  const rows = P.top_ids[i].map((id, k) =>
    `<tr class="pred" data-p="${P.top_p[i][k]}"><td>${escape(shown(D.vocab[id]))}</td><td>${(100 * P.top_p[i][k]).toFixed(1)}%</td></tr>`).join('');
  tip.innerHTML = `<div>after <b>${escape(shown(D.text[i]))}</b>, next:</div><table>${rows}</table>` +
    `<div>real: <b>${escape(shown(real))}</b>, loss ${P.loss[i].toFixed(2)} nats</div>`;
  tip.hidden = false;
  const r = s.getBoundingClientRect(), w = tip.offsetWidth, h = tip.offsetHeight;
  tip.style.left = Math.max(4, Math.min(window.innerWidth - w - 4, r.left)) + 'px';
  tip.style.top = (r.bottom + h + 8 < window.innerHeight ? r.bottom + 6 : Math.max(4, r.top - h - 6)) + 'px';
}
const hideTip = () => { tip.hidden = true; };
box.addEventListener('mouseover', showTip); box.addEventListener('focusin', showTip);
box.addEventListener('mouseleave', hideTip); box.addEventListener('focusout', hideTip);
function escape(t) { return t.replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c])); }

// the ranking
$('ranking-note').textContent = `Pearson's r between a unit's value and the property, over the whole text; the 95% ` +
  `interval comes from the spread of r over ${D.blocks} contiguous blocks, since neighbouring characters are not ` +
  `independent. Only an interval that keeps away from 0 (marked) says the unit tracks the property.`;
const index = new Map(D.units.map((u, k) => [`${u.layer}/${u.kind}/${u.index}`, k]));
if (!D.ranking.length) $('ranking').textContent = 'This text has none of the properties measured.';
D.ranking.forEach((p) => {
  const f = document.createElement('figure');
  const rows = p.units.map((u) => {
    const k = index.get(`${u.layer}/${u.kind}/${u.index}`);
    const name = k === undefined ? unitName(u) : `<button class="unit" data-k="${k}">${unitName(u)}</button>`;
    return `<tr><td>${name}</td><td class="num">${u.r.toFixed(2)}</td>` +
      `<td class="num">${u.low.toFixed(2)} .. ${u.high.toFixed(2)}</td><td>${u.clear ? '\u2713' : ''}</td></tr>`;
  }).join('');
  f.innerHTML = `<figcaption><b>${escape(p.label)}</b></figcaption><div class="scroll"><table class="data">` +
    `<thead><tr><th>unit</th><th class="num">r</th><th class="num">95% interval</th><th></th></tr></thead>` +
    `<tbody>${rows}</tbody></table></div>`;
  $('ranking').appendChild(f);
});
$('ranking').addEventListener('click', (ev) => {
  const b = ev.target.closest('button.unit'); if (!b) return;
  select.value = b.dataset.k; $('by-loss').checked = false; paint();
  box.scrollIntoView({behavior: 'smooth', block: 'start'});
});

// gate saturation (Karpathy et al. 2015, figure 3): one dot per gate unit
const COLOURS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e'];
if (!D.saturation.length) {
  $('saturation-note').textContent = 'This network has no gates.';
} else {
  $('saturation-note').textContent = 'Each dot is one gate unit: the share of characters on which it is above 0.9 ' +
    '(nearly open, right) against the share on which it is below 0.1 (nearly shut, up).';
  const layers = [...new Set(D.saturation.map((s) => s.layer))];
  layers.forEach((layer) => {
    const S = 240, pad = 30, sets = D.saturation.filter((s) => s.layer === layer);
    let dots = '', legend = '';
    sets.forEach((s, g) => {
      const c = COLOURS[g % COLOURS.length];
      s.above_09.forEach((x, j) => {
        dots += `<circle cx="${pad + x * (S - pad - 8)}" cy="${S - pad - s.below_01[j] * (S - pad - 8)}" r="2.2" fill="${c}" fill-opacity="0.6"/>`;
      });
      legend += `<span style="color:${c}">\u25cf ${escape(s.gate)}</span> `;
    });
    const axes = `<line x1="${pad}" y1="${S - pad}" x2="${S - 8}" y2="${S - pad}" stroke="#aab"/>` +
      `<line x1="${pad}" y1="8" x2="${pad}" y2="${S - pad}" stroke="#aab"/>` +
      `<text x="${pad}" y="${S - pad + 14}">0</text><text x="${S - 14}" y="${S - pad + 14}">1</text>` +
      `<text x="${pad + 40}" y="${S - 4}">share above 0.9</text>` +
      `<text x="4" y="14">1</text><text transform="rotate(-90 12 ${S / 2 + 40})" x="12" y="${S / 2 + 40}">share below 0.1</text>`;
    const f = document.createElement('figure');
    f.innerHTML = `<svg viewBox="0 0 ${S} ${S}" width="100%" style="max-width:${S}px" role="img" ` +
      `aria-label="gate saturation, layer ${layer}">${axes}${dots}</svg><figcaption>layer ${layer}: ${legend}</figcaption>`;
    $('saturation').appendChild(f);
  });
}
// the unit asked for (--unit), else the first property's best: the report puts it first
select.value = 0;
paint();
"""


def neurons_page(report: dict) -> str:
    data = dict(report)
    # JavaScript names may not start with a digit after a dot: the shares as above_09 / below_01
    data["saturation"] = [{"layer": s["layer"], "gate": s["gate"], "above_09": s["above_0.9"],
                           "below_01": s["below_0.1"]} for s in report["saturation"]]
    return page(f"charrnn neurons: {report['model']['label']}", NEURONS_BODY, data, NEURONS_SCRIPT)


# ----------------------------------------------------------------------------- gradients
GRADIENTS_BODY = """
<header>
  <h1>Backpropagation through time, seen on one window</h1>
  <p id="about"></p>
</header>
<main>
  <h2>1. Gradient check: BPTT against centred finite differences</h2>
  <p class="note" id="check-note"></p>
  <div class="scroll"><table class="data" id="check"></table></div>
  <h2>2. Gradient flow back through time</h2>
  <p class="note">||dL_T/dh_t||, the part of the last step's loss that reaches each earlier hidden state, relative
  to its size at t = T, on a log scale. Below the lower dashed line (10<sup>-3</sup>) the gradient has vanished; above
  the upper one (10<sup>3</sup>) it has exploded. Dotted: what reaches a cell state c along the cell path.</p>
  <figure><svg id="flow" role="img" aria-label="gradient flow chart"></svg><figcaption id="flow-legend"></figcaption></figure>
  <ul class="note" id="paths"></ul>
  <h2>3. Parameter sharing: each step's part of a shared weight's gradient</h2>
  <p class="note">The same weights serve every step, so a weight's gradient is the sum of one contribution per step.
  Bars: the norm of step t's contribution, scaled to the largest; under them, the norm of the whole gradient. The
  steps' contributions, added up as tensors, match the whole gradient (the difference in brackets).</p>
  <label>Model <select id="share-model"></select></label>
  <div class="grid" id="share"></div>
  <h2>4. Gates and biases: gradient norms of each block's rows</h2>
  <div class="scroll"><table class="data" id="gates"></table></div>
  <h2>How open the gates are</h2>
  <p class="note">The share of the window's gate values in each tenth of 0..1: a gate piled up at 0 is nearly shut,
  at 1 nearly open.</p>
  <div class="grid" id="openness"></div>
  <h2>5. Parameters and clipping</h2>
  <div class="scroll"><table class="data" id="clip"></table></div>
</main>
"""

GRADIENTS_SCRIPT = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const $ = (id) => document.getElementById(id);
const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const fmt = (x) => x === null ? '-' : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(1) : x.toPrecision(3);
const w = D.window;
$('about').textContent = `T = ${w.seq_len} steps x B = ${w.batch_size} streams of ${w.source}` +
  (w.checkpoint ? `, ${w.checkpoint}` : `; fresh models${w.train_steps ? `, each trained ${w.train_steps} steps first` : ''}` +
  (w.recurrent_scale !== 1 ? `, recurrent weights x ${w.recurrent_scale}` : '')) + '. All numbers in float64.';

// 1. the gradient check
$('check-note').textContent = `relative error = ||a - n|| / (||a|| + ||n||) over the checked elements; it must be below ${D.tolerance}.`;
let rows = '<thead><tr><th>model</th><th>tensor</th><th>shape</th><th class="num">elements</th><th class="num">relative error</th><th></th></tr></thead><tbody>';
D.models.forEach((m) => m.gradient_check.tensors.forEach((t, i) => {
  rows += `<tr><td>${i ? '' : esc(m.model.label)}</td><td>${esc(t.name)}</td><td>${t.shape.join('x')}</td>` +
    `<td class="num">${t.elements}</td><td class="num">${t.rel_error.toExponential(1)}</td><td>${t.passed ? 'pass' : '<b>FAIL</b>'}</td></tr>`;
}));
$('check').innerHTML = rows + '</tbody>';

// 2. gradient flow: a log-scale line chart
(function () {
  const W = 900, H = 340, L = 56, R = 12, T = 12, B = 36;
  const series = [];
  D.models.forEach((m, k) => {
    const ref = m.gradient_flow.norms[0] || 1;
    series.push({label: m.model.label, colour: COLOURS[k % COLOURS.length], dash: '', ys: m.gradient_flow.norms.map((x) => x / ref)});
    if (m.cell_path_flow) series.push({label: m.model.label + ': cell path', colour: COLOURS[k % COLOURS.length], dash: '2 3',
                                       ys: m.cell_path_flow.map((x) => x / ref)});
  });
  const finite = series.flatMap((s) => s.ys).filter((y) => y > 0 && isFinite(y));
  const lo = Math.max(-30, Math.min(-4, Math.floor(Math.log10(Math.min(...finite))))), hi = Math.max(1, Math.ceil(Math.log10(Math.max(...finite))));
  const steps = D.models[0].gradient_flow.norms.length;
  const x = (i) => L + (W - L - R) * i / Math.max(1, steps - 1);
  const y = (v) => { const l = v > 0 ? Math.max(lo, Math.min(hi, Math.log10(v))) : lo; return T + (H - T - B) * (hi - l) / (hi - lo); };
  let svg = '';
  for (let e = lo; e <= hi; e += Math.max(1, Math.round((hi - lo) / 8))) {
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#eee"/><text x="4" y="${y(10 ** e) + 4}">1e${e}</text>`;
  }
  [1e-3, 1e3].forEach((v) => { if (Math.log10(v) >= lo && Math.log10(v) <= hi)
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#888" stroke-dasharray="6 4"/>`; });
  series.forEach((s) => {
    const pts = s.ys.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg += `<polyline points="${pts}" fill="none" stroke="${s.colour}" stroke-width="1.6" stroke-dasharray="${s.dash}"><title>${esc(s.label)}</title></polyline>`;
  });
  svg += `<text x="${L}" y="${H - 6}">t = T</text><text x="${W - R}" y="${H - 6}" text-anchor="end">t = 1 (steps back)</text>`;
  const el = $('flow'); el.setAttribute('viewBox', `0 0 ${W} ${H}`); el.setAttribute('width', '100%'); el.innerHTML = svg;
  $('flow-legend').innerHTML = series.filter((s) => !s.dash).map((s) => `<span style="color:${s.colour}">\u2501 ${esc(s.label)}</span>`).join(' &nbsp; ');
  const seen = new Set();
  $('paths').innerHTML = D.models.filter((m) => !seen.has(m.model.cell) && seen.add(m.model.cell))
    .map((m) => `<li><b>${esc(m.model.cell)}</b>: ${esc(m.gradient_path)}</li>`).join('');
})();

// 3. parameter sharing: bars per step, scaled to the largest (against the whole gradient they would all be flat)
const shareSelect = $('share-model');
D.models.forEach((m, k) => { const o = document.createElement('option'); o.value = k; o.textContent = m.model.label; shareSelect.appendChild(o); });
function drawShare() {
  const m = D.models[+shareSelect.value];
  $('share').innerHTML = m.parameter_sharing.map((s) => {
    const W = 300, H = 110, n = s.step_norms.length, top = Math.max(...s.step_norms) || 1;
    const bw = (W - 8) / n;
    const bars = s.step_norms.map((v, i) => `<rect x="${4 + i * bw}" y="${H - 16 - (H - 24) * v / top}" width="${Math.max(1, bw - 0.5)}" height="${(H - 24) * v / top}" fill="#5b8cc9"/>`).join('');
    return `<figure><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(s.name)}">${bars}` +
      `<text x="4" y="${H - 3}">t = 1</text>` +
      `<text x="${W - 34}" y="${H - 3}">t = T</text></svg><figcaption>${esc(s.name)}: largest step ${fmt(Math.max(...s.step_norms))}, ` +
      `whole gradient ${fmt(s.full_norm)}, ` +
      `sum of steps ${s.sum_matches_full ? 'matches' : '<b>does not match</b>'} (${s.max_abs_diff.toExponential(0)})</figcaption></figure>`;
  }).join('');
}
shareSelect.addEventListener('change', drawShare); drawShare();

// 4. gates and biases
const SIDES = ['input weight', 'recurrent weight', 'input bias', 'recurrent bias'];
rows = '<thead><tr><th>model</th><th>layer</th><th>block</th><th>feeds</th><th>rows</th>' + SIDES.map((s) => `<th class="num">||d ${s}||</th>`).join('') + '</tr></thead><tbody>';
D.models.forEach((m) => m.gates.forEach((g, i) => {
  const by = Object.fromEntries(g.tensors.map((t) => [t.side, t.grad_norm]));
  const r = g.layer === null ? '' : (g.tensors[0].name.split('[')[1] || '').replace(']', '');
  rows += `<tr><td>${i ? '' : esc(m.model.label)}</td><td>${g.layer === null ? '' : g.layer}</td><td>${esc(g.gate)}: ${esc(g.role)}</td>` +
    `<td>${esc(g.nonlinearity)}</td><td>${r}</td>` + SIDES.map((s) => `<td class="num">${s in by ? by[s].toExponential(2) : ''}</td>`).join('') + '</tr>';
}));
$('gates').innerHTML = rows + '</tbody>';

// how open the gates are: histograms
const gated = D.models.filter((m) => m.gates_open.length);
$('openness').innerHTML = gated.length ? gated.flatMap((m) => m.gates_open.map((g) => {
  const W = 220, H = 90, n = g.histogram.length, top = Math.max(...g.histogram) || 1, bw = (W - 8) / n;
  const bars = g.histogram.map((v, i) => `<rect x="${4 + i * bw}" y="${H - 16 - (H - 22) * v / top}" width="${bw - 1}" height="${(H - 22) * v / top}" fill="#2ca02c"/>`).join('');
  return `<figure><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="openness of gate ${esc(g.gate)}">${bars}` +
    `<text x="4" y="${H - 3}">0</text><text x="${W - 12}" y="${H - 3}">1</text></svg>` +
    `<figcaption>${esc(m.model.label)}, layer ${g.layer}, gate ${esc(g.gate)}: mean ${g.mean.toFixed(2)}, ` +
    `${(100 * g['below_0.1']).toFixed(0)}% below 0.1, ${(100 * g['above_0.9']).toFixed(0)}% above 0.9</figcaption></figure>`;
})).join('') : '<p class="note">No model here has gates.</p>';

// 5. parameters and clipping
rows = '<thead><tr><th>model</th><th class="num">parameters (shared by all steps)</th><th class="num">unrolled with separate weights</th>' +
  '<th class="num">loss (nats/char)</th><th class="num">global gradient norm</th><th class="num">--clip</th><th>would clip</th></tr></thead><tbody>';
D.models.forEach((m) => {
  const p = m.parameters, c = m.clipping;
  rows += `<tr><td>${esc(m.model.label)}</td><td class="num">${p.shared.toLocaleString()}</td><td class="num">${p.unrolled_with_separate_weights.toLocaleString()}</td>` +
    `<td class="num">${fmt(m.loss)}</td><td class="num">${fmt(c.global_norm)}</td><td class="num">${c.clip}</td><td>${c.would_clip ? 'yes' : 'no'}</td></tr>`;
});
$('clip').innerHTML = rows + '</tbody>';
"""


def gradients_page(report: dict) -> str:
    return page("charrnn inspect-gradients", GRADIENTS_BODY, report, GRADIENTS_SCRIPT)
