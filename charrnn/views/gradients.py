"""What `charrnn inspect-gradients` shows on the terminal: the five sections of the report
(reports/inspect.py) as tables and log-scale sparklines; also saved as an SVG picture or a page."""

from __future__ import annotations

import sys

from charrnn.networks.base import TENSOR_SIDES
from charrnn.views.terminal import json_out, new_table, show, sparkline, stdout_console, write_page


def log_spark(norms, ref, width=50) -> str:
    """Sparkline of log10(norm / ref) over [-12, 0] (values beyond are pinned)."""
    import numpy as np

    with np.errstate(divide="ignore"):
        logs = np.log10(np.maximum(np.asarray(norms, dtype=float), 1e-300) / ref)
    return sparkline(logs, -12.0, 0.0, width)


def inspect_report(report: dict, console) -> None:
    """Draw the JSON-able report of `charrnn inspect-gradients` with rich, section by section."""
    w = report["window"]
    console.print(f"[bold]Backpropagation through time, seen on one window[/bold]: T = {w['seq_len']} steps "
                  f"x B = {w['batch_size']} streams of {w['source']}")
    console.print("Train-time unroll (teacher forcing): input x_t = observed character t, target = "
                  "character t+1; loss L = mean_t -log o_t[y_t]. All numbers in float64.\n")
    for section in (gradient_check, gradient_flow, bptt_phases, parameter_sharing, gates_and_biases, gate_openness,
                    clipping):
        section(report, console)
    verdict = "all gradient checks passed" if report["all_checks_passed"] else "SOME GRADIENT CHECKS FAILED"
    console.print(f"\n[bold]{verdict}[/bold]")


def gradient_check(report: dict, console) -> None:
    """1. BPTT's gradient against centred finite differences."""
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


def gradient_flow(report: dict, console) -> None:
    """2. How much of the last step's loss reaches each earlier hidden state."""
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


def bptt_phases(report: dict, console) -> None:
    """2b. BPTT's phases on the whole window's loss: every dL/do_t at once, then the full dL/dh_t
    from t = T down to 1, from its own output and from step t+1."""
    t = new_table(title="2b. BPTT on the whole window's loss, step by step: 1. every dL/do_t at once; 2. from t = T "
                        "down to 1, the full dL/dh_t = what h_t's own output sends + what step t+1 sends back "
                        "(norms over the batch, t = 1 (left) .. T (right), log scale)", title_justify="left")
    for col in ("model", "", "t = 1 .. T", "at t = 1", "at t = T"):
        t.add_column(col, justify="right" if col.startswith("at") else "left")
    rows = (("output", "1. dL/do_t"), ("from_out", "2. from its output"), ("from_next", "   from step t+1"),
            ("full", "   dL/dh_t, the sum"))
    for m in report["models"]:
        b = m["bptt"]
        ref = max(max(b["full"]), max(b["output"])) or 1.0
        for i, (key, label) in enumerate(rows):
            t.add_row(m["model"]["label"] if i == 0 else "", label, log_spark(b[key], ref, 40),
                      f"{b[key][0]:.1e}", f"{b[key][-1]:.1e}")
    show(console, t)
    console.print("3. each shared weight's gradient: the sum of one contribution per step (section 3)\n")


def parameter_sharing(report: dict, console) -> None:
    """3. Every step's contribution to each shared tensor's gradient, and their sum."""
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


def gates_and_biases(report: dict, console) -> None:
    """4. Each gate's own rows of the weights and its own two biases."""
    t = new_table(title="4. Biases and gates: each gate has its own rows of weight_ih and weight_hh and its own "
                    "two biases, shared over time; gradient norms", title_justify="left")
    for col in ("model", "layer", "gate", "feeds", "rows", "||dW input||", "||dW recurrent||", "||db input||",
                "||db recurrent||"):
        t.add_column(col)
    for m in report["models"]:
        for i, g in enumerate(m["gates"]):
            label = m["model"]["label"] if i == 0 else ""
            norms = {x["side"]: f"{x['grad_norm']:.2e}" for x in g["tensors"]}
            cells = [norms.get(side, "") for side in TENSOR_SIDES.values()]
            if g["layer"] is None:
                t.add_row(label, "", g["gate"], f"{g['role']}", "", *cells)
            else:
                rows = g["tensors"][0]["name"].split("[")[1].rstrip("]")
                t.add_row(label, str(g["layer"]), f"{g['gate']}: {g['role']}", g["nonlinearity"], rows, *cells)
    show(console, t)
    console.print("input: the block's rows of the weight and bias that read the layer's input; recurrent: of those "
                  "that read the past (h_(t-1), or what the network makes of it); the JSON names each tensor")


def gate_openness(report: dict, console) -> None:
    """How open the gates are over the window (networks with gates only)."""
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


def clipping(report: dict, console) -> None:
    """5. The global gradient norm against --clip."""
    t = new_table(title="5. Clipping by global norm", title_justify="left")
    for col in ("model", "loss (nats/char)", "global gradient norm", "--clip", "would clip"):
        t.add_column(col)
    for m in report["models"]:
        c = m["clipping"]
        t.add_row(m["model"]["label"], f"{m['loss']:.4f}", f"{c['global_norm']:.4f}", f"{c['clip']:g}",
                  "yes" if c["would_clip"] else "no")
    show(console, t)


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
