"""Presentation: the tqdm progress bar and rich tables. The library modules never print; the
CLI passes these renderers in. Progress goes to stderr, results to stdout."""

from __future__ import annotations

import math
import sys
import time

from charrnn.reports import bits
from charrnn.trainer import Callbacks, EvalInfo, StepInfo, Stop, TrainResult


class TrainProgress(Callbacks):
    """A tqdm bar on stderr: step, train loss, last validation loss, chars/s, ETA. A context
    manager: the bar is closed however training ends."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.bar = None
        self.last_val = None

    def __enter__(self) -> "TrainProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def on_start(self, step: int):
        if self.quiet:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=1000, unit="", file=sys.stderr, dynamic_ncols=True, leave=True,
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}")
        self.bar.set_description(f"step {step}")
        self._done = 0

    def on_step(self, info: StepInfo):
        if self.bar is None:
            return
        target = int(info.progress * 1000)
        if target > self._done:
            self.bar.update(target - self._done)
            self._done = target
        if info.step % 5 == 0 or info.step < 5:
            self.bar.set_description(f"step {info.step}")
            val = f" val {self.last_val:.3f}" if self.last_val is not None else ""
            self.bar.set_postfix_str(f"loss {info.loss:.3f}{val} | {info.chars_per_sec:,.0f} chars/s", refresh=False)

    def on_eval(self, info: EvalInfo):
        if not math.isnan(info.val_loss):
            self.last_val = info.val_loss
        if self.bar is not None:
            mark = " (best)" if info.improved else ""
            self.bar.write(f"step {info.step}: val loss {info.val_loss:.4f} nats/char"
                           f" ({bits(info.val_loss):.3f} bits){mark}", file=sys.stderr)

    def on_sample(self, step: int, text: str):
        if self.bar is not None:
            self.bar.write(f"--- sample at step {step} ---\n{text}\n---", file=sys.stderr)
        else:
            print(f"--- sample at step {step} ---\n{text}\n---", file=sys.stderr)

    def on_stop_requested(self, stop: Stop):
        # written straight to the stream: this runs inside a signal handler
        sys.stderr.write(f"\n{stop.word}: finishing this step and saving "
                         f"(Ctrl-C again to stop at once)\n")
        sys.stderr.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def notes(lines) -> None:
    """Lines the library left for the user (a byte-order mark dropped, ...), on stderr."""
    for line in lines:
        print(line, file=sys.stderr)


def download_progress():
    """A callback(done, total) drawing a tqdm bar on stderr while a corpus downloads."""
    state = {}

    def update(done: int, total: int):
        from tqdm import tqdm

        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, unit="B", unit_scale=True, desc="download", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def stdout_console():
    """A rich console for results: stdout, no syntax colouring of numbers, long lines kept whole."""
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def train_stopped(result: TrainResult, resume_cmd: str) -> None:
    """What an interrupted or terminated run says on its way out (stderr)."""
    print(f"{result.stopped_by.word} at step {result.steps}; saved {result.last_path}\n"
          f"resume with:  {resume_cmd}", file=sys.stderr)


def stream_samples(chunks, out, prime: str, num_samples: int) -> None:
    """Write generated text to `out` as it comes: sample 1 streamed (flushed every 256
    characters or 50 ms, so a slow model still shows progress), samples 2.. buffered and written
    after it under a header each. `chunks` yields one list of new characters per step."""
    def header(i):
        return "" if num_samples == 1 else ("\n" if i else "") + f"----- sample {i + 1}/{num_samples} -----\n"

    buffers = [[prime] for _ in range(num_samples)]
    out.write(header(0) + prime)
    out.flush()
    pending, last_flush = [], time.perf_counter()
    for chars in chunks:
        pending.append(chars[0])
        for i in range(1, num_samples):
            buffers[i].append(chars[i])
        if len(pending) >= 256 or time.perf_counter() - last_flush > 0.05:
            out.write("".join(pending))
            out.flush()
            pending, last_flush = [], time.perf_counter()
    out.write("".join(pending))
    for i in range(1, num_samples):
        out.write(header(i) + "".join(buffers[i]))
    out.write("\n")
    out.flush()


def sample_summary(checkpoint: str, ck, settings, seed: int, num_samples: int, stats, seconds: float) -> None:
    """`charrnn sample --verbose`: the model, the settings, how likely the text was, the speed."""
    total = sum(stats.generated)
    mean_lp = sum(stats.log_prob) / max(total, 1)
    c = ck.config
    print(f"checkpoint {checkpoint} ({c.cell} {c.num_layers}x{c.hidden_size}, step {ck.train.get('step', '?')})\n"
          f"settings: length {settings.length}, temperature {settings.temperature}, top-k {settings.top_k}, "
          f"top-p {settings.top_p}, greedy {settings.greedy}, seed {seed}, samples {num_samples}, "
          f"stop {settings.stop!r}\n"
          f"mean log-probability per generated character: {mean_lp:.4f} nats\n"
          f"{total} characters in {seconds:.2f} s: {total / max(seconds, 1e-9):,.0f} chars/s", file=sys.stderr)


def train_summary(result: TrainResult, sample_cmd: str, resume_cmd: str) -> None:
    """The end-of-run table, on stdout."""
    from rich.table import Table

    console = stdout_console()
    table = Table(title="charrnn train", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")  # paths are for copying: never cut them short
    if result.best_val_loss is not None:
        table.add_row("best validation loss",
                      f"{result.best_val_loss:.4f} nats/char = {bits(result.best_val_loss):.3f} bits/char")
    if result.val_unigram is not None:
        table.add_row("unigram baseline (val)",
                      f"{result.val_unigram:.4f} nats/char = {bits(result.val_unigram):.3f} bits/char")
    table.add_row("train loss (last 100 steps)", f"{result.train_loss:.4f} nats/char")
    table.add_row("steps / epochs", f"{result.steps} / {result.epochs}")
    table.add_row("time", f"{result.elapsed:.1f} s ({result.chars_per_sec:,.0f} chars/s training)")
    table.add_row("stopped by", result.stopped_by.word)
    table.add_row("best checkpoint", result.best_path)
    table.add_row("last checkpoint", result.last_path)
    console.print(table)
    console.print(f"sample:  {sample_cmd}")
    console.print(f"resume:  {resume_cmd}")


# ------------------------------------------------------------------------ inspect-gradients
SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values, lo: float, hi: float, width: int = 50) -> str:
    """One character per value (resampled to at most `width`), height linear in [lo, hi]."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    if v.size > width:
        v = v[np.linspace(0, v.size - 1, width).round().astype(int)]
    frac = np.clip((v - lo) / max(hi - lo, 1e-12), 0, 1)
    return "".join(SPARK[int(round(f * (len(SPARK) - 1)))] for f in frac)


def log_spark(norms, ref, width=50) -> str:
    """Sparkline of log10(norm / ref) over [-12, 0] (values beyond are pinned)."""
    import numpy as np

    with np.errstate(divide="ignore"):
        logs = np.log10(np.maximum(np.asarray(norms, dtype=float), 1e-300) / ref)
    return sparkline(logs, -12.0, 0.0, width)


def model_label(model: dict) -> str:
    if model["cell"] == "rnn":
        kind = f"rnn {model['activation']}"
    else:
        kind = f"{model['cell']} ({model['gate_activation']} gates)"
    return f"{kind} {model['num_layers']}x{model['hidden_size']}"


def inspect_report(report: dict, console) -> None:
    """Draw the JSON-able report of `charrnn inspect-gradients` with rich."""
    from rich.table import Table

    w = report["window"]
    console.print(f"[bold]Backpropagation through time, seen on one window[/bold]: T = {w['seq_len']} steps "
                  f"x B = {w['batch_size']} streams of {w['source']}")
    console.print("Train-time unroll (teacher forcing): input x_t = observed character t, target = "
                  "character t+1; loss L = mean_t -log o_t[y_t]. All numbers in float64.\n")

    # 1. gradient check
    t = Table(title="1. Gradient check: BPTT against centred finite differences "
                    f"(relative error = ||a-n|| / (||a|| + ||n||), must be < {report['tolerance']:g})",
              title_justify="left")
    for col in ("model", "tensor", "shape", "elements", "rel. error", ""):
        t.add_column(col, justify="right" if col in ("elements", "rel. error") else "left")
    for m in report["models"]:
        gc = m["gradient_check"]
        for i, r in enumerate(gc["tensors"]):
            t.add_row(model_label(m["model"]) if i == 0 else "", r["name"], "x".join(map(str, r["shape"])),
                      str(r["elements"]), f"{r['rel_error']:.1e}",
                      "[green]pass[/green]" if r["passed"] else "[red bold]FAIL[/red bold]")
    console.print(t)
    console.print(f"(first {report['models'][0]['gradient_check']['steps']} steps of the window; "
                  "in a large tensor, the elements with the largest gradient and a random sample)\n")

    # 2. gradient flow
    t = Table(title="2. Gradient flow through time: ||dL_T / dh_t|| for t = T (left) back to 1 (right), "
                    "log scale 1e-12 .. 1", title_justify="left")
    for col in ("model", "flow (log10 of norm / norm at T)", "vanishes (<1e-3) after", "explodes (>1e3) after",
                "left at t=1"):
        t.add_column(col)
    for m in report["models"]:
        f = m["gradient_flow"]
        ref = f["norms"][0] or 1.0
        t.add_row(model_label(m["model"]), log_spark(f["norms"], ref),
                  f"{f['vanish_steps']} steps" if f["vanish_steps"] is not None else "never",
                  f"{f['explode_steps']} steps" if f["explode_steps"] is not None else "never",
                  f"{f['norms'][-1] / ref:.1e}")
    console.print(t)
    console.print("A state squashed by sigmoid (slope <= 1/4) shrinks the gradient at every step; tanh "
                  "(slope 1 at 0) shrinks it less; the LSTM cell path is multiplied only by the forget "
                  "gate, and a GRU's by its update gate, which training can hold near 1.\n")

    # 3. parameter sharing
    t = Table(title="3. Parameter sharing: every step's contribution to each shared tensor's gradient "
                    "(norm per step, t = 1 .. T), and their sum against the full gradient",
              title_justify="left")
    for col in ("model", "tensor", "per-step contribution", "||full grad||", "max |sum - full|", "adds up"):
        t.add_column(col)
    for m in report["models"]:
        for i, s in enumerate(m["parameter_sharing"]):
            top = max(s["step_norms"]) or 1.0
            t.add_row(model_label(m["model"]) if i == 0 else "", s["name"],
                      sparkline(s["step_norms"], 0.0, top, 40), f"{s['full_norm']:.3e}",
                      f"{s['max_abs_diff']:.1e}", "[green]yes[/green]" if s["sum_matches_full"] else "[red]NO[/red]")
    console.print(t)
    console.print("The same weight_ih, weight_hh, biases and decoder are used at every step, so their "
                  "gradient is the sum of T contributions: dW_hh = sum_t dA_t^T h_(t-1).\n")

    # 4. gates and biases
    t = Table(title="4. Biases and gates: each gate has its own rows of weight_ih and weight_hh and its own "
                    "two biases, shared over time; gradient norms", title_justify="left")
    for col in ("model", "layer", "gate", "feeds", "rows", "||dW_ih||", "||dW_hh||", "||db_ih||", "||db_hh||"):
        t.add_column(col)
    for m in report["models"]:
        for i, g in enumerate(m["gates"]):
            label = model_label(m["model"]) if i == 0 else ""
            norms = [f"{x['grad_norm']:.2e}" for x in g["tensors"]]
            if g["layer"] is None:
                t.add_row(label, "", g["gate"], f"{g['role']}",
                          "", f"W {norms[0]}", "", f"b {norms[1]}", "")
            else:
                rows = g["tensors"][0]["name"].split("[")[1].rstrip("]")
                t.add_row(label, str(g["layer"]), f"{g['gate']}: {g['role']}", g["nonlinearity"], rows, *norms)
    console.print(t)

    # 5. clipping
    t = Table(title="5. Clipping by global norm", title_justify="left")
    for col in ("model", "loss (nats/char)", "global gradient norm", "--clip", "would clip"):
        t.add_column(col)
    for m in report["models"]:
        c = m["clipping"]
        t.add_row(model_label(m["model"]), f"{m['loss']:.4f}", f"{c['global_norm']:.4f}", f"{c['clip']:g}",
                  "yes" if c["would_clip"] else "no")
    console.print(t)
    verdict = "all gradient checks passed" if report["all_checks_passed"] else "SOME GRADIENT CHECKS FAILED"
    console.print(f"\n[bold]{verdict}[/bold]")


def inspect_output(report: dict, as_json: bool = False, svg: str | None = None, html: str | None = None) -> None:
    """The report as tables on stdout (or as JSON), and optionally saved as SVG / HTML."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO() if as_json else None, record=bool(svg or html),
                      width=None if sys.stdout.isatty() and not (svg or html) else 160, highlight=False)
    inspect_report(report, console)
    if as_json:
        json_out(report)
    if svg:
        console.save_svg(svg, title="charrnn inspect-gradients", clear=False)
    if html:
        console.save_html(html, clear=False)


def json_out(result: dict) -> None:
    """A result as JSON on stdout; NaN and infinity (which JSON lacks) as null."""
    import json

    from charrnn.reports import finite_or_none

    print(json.dumps(finite_or_none(result), indent=1))


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
    from rich.table import Table

    t = Table(title=f"charrnn eval: {r['checkpoint']} on {r['text']}", show_header=True, title_justify="left")
    for col in ("", "nats/char", "bits/char", "perplexity"):
        t.add_column(col, justify="right" if col else "left")
    t.add_row("model", f"{r['loss']:.4f}", f"{bits(r['loss']):.4f}", f"{r['perplexity']:.3f}")
    t.add_row("unigram baseline", f"{r['unigram']:.4f}", f"{bits(r['unigram']):.4f}", f"{math.exp(r['unigram']):.3f}")
    c = stdout_console()
    c.print(t)
    c.print(f"{r['predicted']:,} characters predicted, as one stream (state carried throughout)")
    if r["unknown_count"]:
        shown = ", ".join(repr(ch) for ch in r["unknown_chars"][:20])
        c.print(f"{r['unknown_count']:,} characters the model never saw were left out: {shown}")


def info_report(r: dict, history: list) -> None:
    from rich.table import Table

    c = stdout_console()
    t = Table(title=f"charrnn info: {r['checkpoint']}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    for k, v in r["config"].items():
        t.add_row(k, str(v))
    t.add_row("vocabulary", f"{len(r['vocab'])} characters: {''.join(r['vocab'])!r}")
    for k in ("name", "sha256", "train_chars", "val_chars"):
        if k in r["corpus"]:
            t.add_row(f"corpus {k}", f"{r['corpus'][k]:,}" if isinstance(r["corpus"][k], int) else str(r["corpus"][k]))
    for k in ("step", "epoch", "elapsed", "best_val_loss"):
        v = r["training"].get(k)
        if v is not None:
            t.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    c.print(t)
    p = Table(title=f"parameters: {r['parameters']:,}", title_justify="left")
    for col in ("name", "shape", "count"):
        p.add_column(col, justify="right" if col == "count" else "left")
    for row in r["tensors"]:
        p.add_row(row["name"], "x".join(map(str, row["shape"])), f"{row['count']:,}")
    c.print(p)
    c.print(loss_chart(history))
