"""Report views: the tables and terminal charts of `inspect-gradients`, `eval`, `info` and
`exposure-bias`, drawn with rich from the plain data of `inspection.py` and `reports.py`. In
ASCII mode (terminal.use_ascii) every box, chart and ellipsis is plain ASCII."""

from __future__ import annotations

import math
import sys

from charrnn.views import terminal
from charrnn.ground.ops import bits
from charrnn.networks.base import TENSOR_SIDES
from charrnn.views.terminal import json_out, new_table, show, sparkline, stdout_console, visible, write_page


def log_spark(norms, ref, width=50) -> str:
    """Sparkline of log10(norm / ref) over [-12, 0] (values beyond are pinned)."""
    import numpy as np

    with np.errstate(divide="ignore"):
        logs = np.log10(np.maximum(np.asarray(norms, dtype=float), 1e-300) / ref)
    return sparkline(logs, -12.0, 0.0, width)


def inspect_report(report: dict, console) -> None:
    """Draw the JSON-able report of `charrnn inspect-gradients` with rich."""
    w = report["window"]
    console.print(f"[bold]Backpropagation through time, seen on one window[/bold]: T = {w['seq_len']} steps "
                  f"x B = {w['batch_size']} streams of {w['source']}")
    console.print("Train-time unroll (teacher forcing): input x_t = observed character t, target = "
                  "character t+1; loss L = mean_t -log o_t[y_t]. All numbers in float64.\n")

    # 1. gradient check
    t = new_table(title="1. Gradient check: BPTT against centred finite differences "
                    f"(relative error = ||a-n|| / (||a|| + ||n||), must be < {report['tolerance']:g})",
              title_justify="left")
    for col in ("model", "tensor", "shape", "elements", "rel. error", ""):
        t.add_column(col, justify="right" if col in ("elements", "rel. error") else "left")
    for m in report["models"]:
        gc = m["gradient_check"]
        for i, r in enumerate(gc["tensors"]):
            t.add_row(m["model"]["label"] if i == 0 else "", r["name"], "x".join(map(str, r["shape"])),
                      str(r["elements"]), f"{r['rel_error']:.1e}",
                      "[green]pass[/green]" if r["passed"] else "[red bold]FAIL[/red bold]")
    show(console, t)
    console.print(f"(first {report['models'][0]['gradient_check']['steps']} steps of the window; "
                  "in a large tensor, the elements with the largest gradient and a random sample)\n")

    # 2. gradient flow
    t = new_table(title="2. Gradient flow through time: ||dL_T / dh_t|| for t = T (left) back to 1 (right), "
                    "log scale 1e-12 .. 1", title_justify="left")
    for col in ("model", "flow (log10 of norm / norm at T)", "vanishes (<1e-3) after", "explodes (>1e3) after",
                "left at t=1"):
        t.add_column(col)
    for m in report["models"]:
        f = m["gradient_flow"]
        ref = f["norms"][0] or 1.0
        t.add_row(m["model"]["label"], log_spark(f["norms"], ref),
                  f"{f['vanish_steps']} steps" if f["vanish_steps"] is not None else "never",
                  f"{f['explode_steps']} steps" if f["explode_steps"] is not None else "never",
                  f"{f['norms'][-1] / ref:.1e}")
        if m.get("cell_path_flow"):  # what reaches c_t along the cell path, on the same scale
            c = m["cell_path_flow"]
            t.add_row("  its cell path c_t", log_spark(c, ref), "", "", f"{c[-1] / ref:.1e}")
    show(console, t)
    notes = {m["model"]["cell"]: m["gradient_path"] for m in report["models"]}
    for cell, note in notes.items():
        console.print(f"{cell}: {note}")
    console.print()

    # 3. parameter sharing
    t = new_table(title="3. Parameter sharing: every step's contribution to each shared tensor's gradient "
                    "(norm per step, t = 1 .. T), and their sum against the full gradient",
              title_justify="left")
    for col in ("model", "tensor", "per-step contribution", "||full grad||", "max |sum - full|", "adds up"):
        t.add_column(col)
    for m in report["models"]:
        for i, s in enumerate(m["parameter_sharing"]):
            top = max(s["step_norms"]) or 1.0
            t.add_row(m["model"]["label"] if i == 0 else "", s["name"],
                      sparkline(s["step_norms"], 0.0, top, 40), f"{s['full_norm']:.3e}",
                      f"{s['max_abs_diff']:.1e}", "[green]yes[/green]" if s["sum_matches_full"] else "[red]NO[/red]")
    show(console, t)
    console.print("The same weight_ih, weight_hh, biases and decoder are used at every step, so their "
                  "gradient is the sum of T contributions: dW_hh = sum_t dA_t^T h_(t-1).")
    for m in report["models"]:
        n = m["parameters"]
        console.print(f"{m['model']['label']}: {n['shared']:,} parameters serve all {n['window_steps']} steps; "
                      f"unrolled with separate weights at each step it would need {n['unrolled_with_separate_weights']:,} "
                      f"({n['window_steps']} times as many)")
    console.print()

    # 4. gates and biases
    t = new_table(title="4. Biases and gates: each gate has its own rows of weight_ih and weight_hh and its own "
                    "two biases, shared over time; gradient norms", title_justify="left")
    for col in ("model", "layer", "gate", "feeds", "rows", "||dW input||", "||dW recurrent||", "||db input||",
                "||db recurrent||"):
        t.add_column(col)
    for m in report["models"]:
        for i, g in enumerate(m["gates"]):
            label = m["model"]["label"] if i == 0 else ""
            norms = {x["side"]: f"{x['grad_norm']:.2e}" for x in g["tensors"]}
            cells = [norms.get(side, "") for side in TENSOR_SIDES]
            if g["layer"] is None:
                t.add_row(label, "", g["gate"], f"{g['role']}", "", *cells)
            else:
                rows = g["tensors"][0]["name"].split("[")[1].rstrip("]")
                t.add_row(label, str(g["layer"]), f"{g['gate']}: {g['role']}", g["nonlinearity"], rows, *cells)
    show(console, t)
    console.print("input: the block's rows of the weight and bias that read the layer's input; recurrent: of those "
                  "that read the past (h_(t-1), or what the network makes of it); the JSON names each tensor")

    gated = [m for m in report["models"] if m.get("gates_open")]
    if gated:
        t = new_table(title="How open the gates are over the window: mean value, share nearly shut (< 0.1) "
                            "and nearly open (> 0.9)", title_justify="left")
        for col in ("model", "layer", "gate", "mean", "< 0.1", "> 0.9"):
            t.add_column(col, justify="right" if col in ("mean", "< 0.1", "> 0.9") else "left")
        for m in gated:
            for i, g in enumerate(m["gates_open"]):
                t.add_row(m["model"]["label"] if i == 0 else "", str(g["layer"]), g["gate"], f"{g['mean']:.3f}",
                          f"{g['below_0.1']:.1%}", f"{g['above_0.9']:.1%}")
        show(console, t)

    # 5. clipping
    t = new_table(title="5. Clipping by global norm", title_justify="left")
    for col in ("model", "loss (nats/char)", "global gradient norm", "--clip", "would clip"):
        t.add_column(col)
    for m in report["models"]:
        c = m["clipping"]
        t.add_row(m["model"]["label"], f"{m['loss']:.4f}", f"{c['global_norm']:.4f}", f"{c['clip']:g}",
                  "yes" if c["would_clip"] else "no")
    show(console, t)
    verdict = "all gradient checks passed" if report["all_checks_passed"] else "SOME GRADIENT CHECKS FAILED"
    console.print(f"\n[bold]{verdict}[/bold]")


def inspect_output(report: dict, as_json: bool = False, svg: str | None = None, html: str | None = None) -> None:
    """The report as tables on stdout (or as JSON), and optionally saved as the terminal's picture
    (SVG) and as a page with charts (HTML, pages.gradients_page)."""
    import io

    from rich.console import Console

    stdout_console()  # stdout escapes what it cannot encode
    console = Console(file=io.StringIO() if as_json else None, record=bool(svg or html),
                      width=None if sys.stdout.isatty() and not (svg or html) else 160, highlight=False,
                      emoji=False)
    inspect_report(report, console)
    if as_json:
        json_out(report)
    if svg:
        console.save_svg(svg, title="charrnn inspect-gradients", clear=False)
    if html:
        from charrnn.views import pages

        write_page(html, pages.gradients_page(report))


# -------------------------------------------------------------------------------- eval, info
def loss_chart(history: list[dict], width: int = 60, height: int = 12) -> str:
    """A terminal chart of the training ('t') and validation ('v') loss against the step."""
    pts = [(h["step"], h.get(k), mark) for h in history for k, mark in (("train_loss", "t"), ("val_loss", "v"))
           if h.get(k) is not None and math.isfinite(h.get(k))]
    if not pts:
        return "(no evaluations recorded)"
    s_lo, s_hi = min(p[0] for p in pts), max(p[0] for p in pts)
    l_lo, l_hi = min(p[1] for p in pts), max(p[1] for p in pts)
    grid = [[" "] * width for _ in range(height)]
    for step, loss, mark in pts:
        x = 0 if s_hi == s_lo else round((step - s_lo) / (s_hi - s_lo) * (width - 1))
        y = 0 if l_hi == l_lo else round((l_hi - loss) / (l_hi - l_lo) * (height - 1))
        grid[y][x] = "*" if grid[y][x] not in (" ", mark) else mark
    lines = []
    for i, row in enumerate(grid):
        label = l_hi - (l_hi - l_lo) * i / max(height - 1, 1)
        lines.append(f"{label:7.3f} |{''.join(row)}")
    lines.append(" " * 8 + "+" + "-" * width)
    lines.append(" " * 9 + f"step {s_lo}".ljust(width - 12) + f"step {s_hi}")
    lines.append(" " * 9 + "t = train loss (mean of the last 100 steps), v = validation loss, nats/char")
    return "\n".join(lines)


def eval_report(r: dict) -> None:
    t = new_table(title=f"charrnn eval: {r['checkpoint']} on {r['text']}", show_header=True, title_justify="left")
    for col in ("", "nats/char", "bits/char", "perplexity"):
        t.add_column(col, justify="right" if col else "left")
    t.add_row("model", f"{r['loss']:.4f}", f"{bits(r['loss']):.4f}", f"{r['perplexity']:.3f}")
    t.add_row("unigram baseline", f"{r['unigram']:.4f}", f"{bits(r['unigram']):.4f}", f"{math.exp(r['unigram']):.3f}")
    c = stdout_console()
    show(c, t)
    c.print(f"{r['predicted']:,} characters predicted, as one stream (state carried throughout)")
    if r["unknown_count"]:
        shown = ", ".join(repr(ch) for ch in r["unknown_chars"][:20])
        c.print(f"{r['unknown_count']:,} characters the model never saw were left out: {shown}")
    if "by_position" in r:
        p = r["by_position"]
        t = new_table(title=f"Loss by position in a stream from a zero state, in windows of the training length "
                            f"T = {p['window']} ({p['streams']} streams; 95% interval over them)", title_justify="left")
        for col in ("positions", "nats/char", "95% interval"):
            t.add_column(col, justify="left" if col == "positions" else "right")
        for b in p["buckets"]:
            t.add_row(f"{b['positions'][0]}-{b['positions'][1]}", f"{b['loss']:.4f}", f"{b['low']:.4f} .. {b['high']:.4f}")
        show(c, t)


VOCAB_PREVIEW = 40  # characters of the vocabulary shown in the info table


def vocab_text(chars: list[str]) -> str:
    """The characters side by side, as a Python string literal without its quotes, so that a
    space, a newline or a tab can be seen: ' \\n!"#...'."""
    return repr("".join(chars))[1:-1]


def info_report(r: dict, history: list, whole_vocab: bool = False) -> None:
    c = stdout_console()
    t = new_table(title=f"charrnn info: {r['checkpoint']}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    for k, v in r["config"].items():
        t.add_row(k, str(v))
    t.add_row("PyTorch", r["pytorch"]["module"])
    V = len(r["vocab"])
    more = "" if V <= VOCAB_PREVIEW or whole_vocab else f" ... and {V - VOCAB_PREVIEW} more (--vocab shows all)"
    shown = "below" if whole_vocab else vocab_text(r["vocab"][:VOCAB_PREVIEW]) + more
    t.add_row("vocabulary", f"{V} characters: {shown}")
    for k in ("name", "sha256", "train_chars", "val_chars", "encoding", "normalize"):
        if k in r["corpus"]:
            t.add_row(f"corpus {k}", f"{r['corpus'][k]:,}" if isinstance(r["corpus"][k], int) else str(r["corpus"][k]))
    for k in ("step", "epoch", "elapsed", "best_val_loss"):
        v = r["training"].get(k)
        if v is not None:
            t.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    if r.get("recipe"):
        t.add_row("recipe", r["recipe"]["line"])
    show(c, t)
    p = new_table(title=f"parameters: {r['parameters']:,}", title_justify="left")
    for col in ("name", "shape", "count"):
        p.add_column(col, justify="right" if col == "count" else "left")
    for row in r["tensors"]:
        p.add_row(row["name"], "x".join(map(str, row["shape"])), f"{row['count']:,}")
    show(c, p)
    c.print(loss_chart(history))
    if whole_vocab:
        c.print(f"vocabulary, {V} characters in id order:")
        print(vocab_text(r["vocab"]))  # one line, whole: for copying, never cut to the terminal


# ----------------------------------------------------------------------------- exposure-bias
SHADES = ((0.1, "on red3"), (0.3, "on dark_orange3"), (0.6, "on yellow4"), (1.01, "on green4"))


def shaded(text: str, probs: list[float]):
    """The real continuation, each character shaded by the probability the teacher-forced model
    gave it; in ASCII mode, a second line of probability deciles (0 = under 10%, 9 = 90% or
    more) under the characters."""
    from rich.cells import cell_len
    from rich.text import Text

    if terminal.ascii_only:
        chars = [visible(c) for c in text]
        digits = "".join(str(min(int(p * 10), 9)).ljust(cell_len(c)) for c, p in zip(chars, probs))
        return Text("".join(chars) + "\n        " + digits)
    t = Text()
    for c, p in zip(text, probs):
        t.append(visible(c), style=next(style for limit, style in SHADES if p < limit))
    return t


def ci(x: dict, spec: str = ".3f") -> str:
    """'mean (low .. high)': a figure with its 95% interval."""
    return f"{x['mean']:{spec}} ({x['low']:{spec}} .. {x['high']:{spec}})"


def span(b: dict) -> str:
    return f"{b['offsets'][0]}-{b['offsets'][1]}"


def exposure_report(r: dict) -> None:
    from rich.text import Text

    c = stdout_console()
    s, j = r["settings"], r["judge"]
    judge = (f"a Kneser-Ney {j['order']}-gram model of the training text" if j["kind"] == "kneser-ney"
             else f"the model {j['path']} ({j['model']})")
    c.print(f"[bold]charrnn exposure-bias[/bold]: {r['checkpoint']} on {r['text']}: {r['prefixes']} prefixes of "
            f"{s['warmup']} characters, offsets k = 1..{s['horizon']}; samples at temperature {s['temperature']:g}, "
            f"seed {s['seed']}; judged by {judge}; 95% intervals by resampling the prefixes")
    t = new_table(title="1. The control (He et al.'s EB-M): the judge's loss (nats/char) on the real continuation, on "
                        "the model's continuation of the real prefix, and of a prefix it wrote itself "
                        f"(after {r['warmup_real']} real characters); EB-M = own prefix / real prefix, 1 = no exposure "
                        "bias", title_justify="left")
    for col in ("offsets", "real text", "from the real prefix", "from its own prefix", "EB-M"):
        t.add_column(col, justify="left" if col == "offsets" else "right")
    for b in r["control"]:
        jb = b["judge"]
        t.add_row(span(b), ci(jb["real"]), ci(jb["data_prefix"]), ci(jb["model_prefix"]), ci(b["eb_m"]))
    show(c, t)
    t = new_table(title="The model's own entropy along each text (nats): how sure it is of what comes next",
                  title_justify="left")
    for col in ("offsets", "reading the real text", "writing after the real prefix", "writing after its own prefix"):
        t.add_column(col, justify="left" if col == "offsets" else "right")
    for b in r["control"]:
        e = b["entropy"]
        t.add_row(span(b), ci(e["real"]), ci(e["data_prefix"]), ci(e["model_prefix"]))
    show(c, t)
    c.print(f"[bold]{r['verdict']}[/bold]\n")
    t = new_table(title="2. How the two unrolls part on the real text: the loss (nats/char) / top-1 accuracy of the real "
                        "character at offset k after the real continuation (teacher forced), after the model's own "
                        "continuation (free running), and after another real continuation (the floor: two real texts "
                        "part too). Not a cost: a perfect model's own continuation parts from the real one as well",
                  title_justify="left")
    for col in ("offsets", "real history", "own history", "another real history"):
        t.add_column(col, justify="left" if col == "offsets" else "right")
    for b in r["divergence"]:
        t.add_row(span(b), *(f"{ci(b[k])} / {b[k]['accuracy']:.0%}" for k in ("teacher_forced", "free_running",
                                                                              "real_history")))
    show(c, t)
    t = new_table(title="3. The free-running text against the real continuations: Jensen-Shannon divergence of "
                        "character n-grams, model vs real (real vs real: the floor for samples this small), bits; "
                        "8-grams absent from the training text, model (real)", title_justify="left")
    for col in ("offsets", *(f"n={n}" for n in sorted(r["ngrams"][0]["free_running"]["ngram_js"])), "new 8-grams"):
        t.add_column(col, justify="left" if col == "offsets" else "right")
    for b in r["ngrams"]:
        fr, real = b["free_running"], b["real"]
        t.add_row(span(b),
                  *(f"{fmt(fr['ngram_js'][n], '.2f')} ({fmt(real['ngram_js'][n], '.2f')})" for n in sorted(fr["ngram_js"])),
                  f"{fmt(fr['novelty'], '.0%')} ({fmt(real['novelty'], '.0%')})")
    show(c, t)
    rep = r["repetition"]
    c.print(f"repeated 20-character windows within a continuation: model {fmt(rep['free_running'], '.1%')}, "
            f"real text {fmt(rep['real'], '.1%')}")
    per = r["per_offset"]
    hi = max(per["teacher_forced_loss"] + per["free_running_loss"] + per["real_history_loss"])
    c.print(f"loss of the real character by offset, k = 1..{s['horizon']} (0 .. {hi:.2f} nats):")
    c.print(f"  real history     {sparkline(per['teacher_forced_loss'], 0.0, hi, 60)}")
    c.print(f"  own history      {sparkline(per['free_running_loss'], 0.0, hi, 60)}")
    c.print(f"  another real one {sparkline(per['real_history_loss'], 0.0, hi, 60)}")
    for e in r["examples"]:
        c.print(f"\n[bold]prefix at character {e['start']:,}[/bold]: ...{''.join(visible(ch) for ch in e['prefix'][-40:])}")
        c.print(Text("  real  ") + shaded(e["real"], e["real_probability"]))
        c.print(Text("  model " + "".join(visible(ch) for ch in e["generated"])))
        c.print(Text("  its own prefix ...") + Text("".join(visible(ch) for ch in e["model_prefix"][-40:])))
        c.print(Text("  then  " + "".join(visible(ch) for ch in e["from_model_prefix"])))
    if not terminal.ascii_only and r["examples"]:
        c.print("\n(real text shaded by the probability the teacher-forced model gave each character: "
                "red < 10%, orange < 30%, yellow < 60%, green >= 60%)")


def fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


# ----------------------------------------------------------------------------------- neurons
def unit_label(u: dict) -> str:
    return f"{u['layer']}:{u['kind']}:{u['index']}"


def neurons_view(r: dict, coloured: bool = False, top: int = 5) -> None:
    """The best-tracking units per property as a table, and with --unit the text coloured by it."""
    from rich.text import Text

    c = stdout_console()
    c.print(f"[bold]charrnn neurons[/bold]: {r['checkpoint']} ({r['model']['label']}) on {r['text_name']}, "
            f"{r['characters'] - 1:,} characters read; r over the whole text, 95% interval from {r['blocks']} blocks")
    t = new_table(title=f"Units that track properties of the text (best {top} each; * = interval clear of 0)",
                  title_justify="left")
    for col in ("property", "unit (layer:kind:index)", "r", "95% interval", ""):
        t.add_column(col, justify="right" if col in ("r", "95% interval") else "left")
    for p in r["ranking"]:
        for i, u in enumerate(p["units"][:top]):
            t.add_row(p["label"] if i == 0 else "", unit_label(u), f"{u['r']:+.2f}", f"{u['low']:+.2f} .. {u['high']:+.2f}",
                      "*" if u["clear"] else "")
    show(c, t)
    for s in r["saturation"]:
        below, above = s["below_0.1"], s["above_0.9"]
        n = len(below)
        c.print(f"layer {s['layer']} gate {s['gate']}: {sum(b > 0.5 for b in below)}/{n} units shut (< 0.1) on most "
                f"characters, {sum(a > 0.5 for a in above)}/{n} open (> 0.9) on most")
    if not coloured:
        return
    chosen = r["units"][0]  # the report puts the unit asked for first
    text = Text()
    for ch, v in zip(r["text"], chosen["values"]):
        text.append(visible(ch) if ch not in "\n" else "\u21b5\n" if not terminal.ascii_only else "|\n",
                    style=f"on {unit_colour(v / 127, chosen['gate'])}")
    c.print(f"\nthe text coloured by {unit_label(chosen)} ({chosen['shown_as']}; "
            + ("white 0 .. green 1)" if chosen["gate"] else "blue -1 .. white 0 .. red +1)"))
    c.print(text)


def unit_colour(v: float, gate: bool) -> str:
    """A background colour for a unit's value: white to green for a gate's 0..1, blue to white
    to red for -1..+1."""
    white = (255, 255, 255)
    end = (0, 109, 44) if gate else ((178, 24, 43) if v >= 0 else (33, 102, 172))
    t = max(0.0, min(1.0, v if gate else abs(v)))
    r, g, b = (round(w + (e - w) * t) for w, e in zip(white, end))
    return f"rgb({r},{g},{b})"
