"""What `charrnn neurons` shows: the units that best track each property of the text, gate
saturation, and with --unit the text coloured by one unit."""

from __future__ import annotations

from charrnn.views import terminal
from charrnn.views.terminal import new_table, show, stdout_console, visible


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
