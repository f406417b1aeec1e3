"""What `charrnn eval` and `charrnn info` show: the loss beside the unigram baseline (and by
position), and what a checkpoint holds with its loss curve as a terminal chart."""

from __future__ import annotations

import math

from charrnn.ground.ops import bits
from charrnn.views.terminal import new_table, show, stdout_console


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
    if "items" in r:
        c.print(f"{r['items']:,} items, each from the initial state: {r['predicted']:,} characters predicted, "
                f"each item's end included; {r['per_item']:.3f} nats per item")
        if r["unknown_items"]:
            shown = ", ".join(repr(ch) for ch in r["unknown_chars"][:20])
            c.print(f"{r['unknown_items']:,} items with characters the model never saw were left out: {shown}")
    else:
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
    t.add_row("reads", r["reads"])
    for i, line in enumerate(r.get("lineage", [])):
        t.add_row("fine-tuned from" if i == 0 else "  which from", line)
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
