"""What `charrnn exposure-bias` shows: the control (EB-M) with its intervals, how the two unrolls
part on the real text, the free-running text against the real one, and examples side by side
with the real text shaded by the probability the model gave it. In ASCII mode
(terminal.use_ascii) every box, chart and shade is plain ASCII."""

from __future__ import annotations

from charrnn.views import terminal
from charrnn.views.terminal import new_table, show, sparkline, stdout_console, visible

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
    """Draw the JSON-able report of `charrnn exposure-bias`, section by section."""
    c = stdout_console()
    s, j = r["settings"], r["judge"]
    judge = (f"a Kneser-Ney {j['order']}-gram model of the training text" if j["kind"] == "kneser-ney"
             else f"the model {j['path']} ({j['model']})")
    c.print(f"[bold]charrnn exposure-bias[/bold]: {r['checkpoint']} on {r['text']}: {r['prefixes']} prefixes of "
            f"{s['warmup']} characters, offsets k = 1..{s['horizon']}; samples at temperature {s['temperature']:g}, "
            f"seed {s['seed']}; judged by {judge}; 95% intervals by resampling the prefixes")
    for section in (control, divergence, free_running_text, examples):
        section(r, c)


def control(r: dict, c) -> None:
    """1. The judge's loss on the real continuation and on the model's, from a real prefix and from
    its own; EB-M; the model's own entropy along each."""
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


def divergence(r: dict, c) -> None:
    """2. How the two unrolls part on the real text, against the floor of two real texts."""
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


def free_running_text(r: dict, c) -> None:
    """3. The free-running text against the real continuations: n-grams, novelty, repetition, and
    the loss of the real character by offset."""
    s = r["settings"]
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


def examples(r: dict, c) -> None:
    """Prefixes with the real continuation (shaded by the model's probability) and the model's."""
    from rich.text import Text

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


