"""What `charrnn sample` writes: the generated text streamed to stdout as it comes, and with
--verbose the settings, likelihood and speed on stderr."""

from __future__ import annotations

import sys
import time

from charrnn.ground.errors import UserError


class Unencodable(UserError):
    """stdout cannot encode a character of the generated text."""


def write_text(out, text: str) -> None:
    """Write and flush; when `out` cannot encode a character, write everything before it, then
    raise Unencodable naming the character and the fixes. (A text stream encodes the whole
    string before writing any of it, so a failed write wrote nothing.)"""
    try:
        out.write(text)
    except UnicodeEncodeError as e:
        out.write(text[: e.start])
        out.flush()
        ch = text[e.start]
        raise Unencodable(
            f"stdout's encoding ({out.encoding}) cannot write {ch!r} (U+{ord(ch):04X}) of the generated "
            f"text; run with PYTHONIOENCODING=utf-8, or pass --replace-unencodable to write '?' instead") from None
    out.flush()


def stream_samples(chunks, out, prime: str, num_samples: int, replace_unencodable: bool = False) -> None:
    """Write generated text to `out` as it comes: sample 1 streamed (flushed every 256
    characters or 50 ms, so a slow model still shows progress), samples 2.. buffered and written
    after it under a header each. `chunks` yields one list of new characters per step."""
    if replace_unencodable and hasattr(out, "reconfigure"):
        out.reconfigure(errors="replace")

    def header(i):
        return "" if num_samples == 1 else ("\n" if i else "") + f"----- sample {i + 1}/{num_samples} -----\n"

    buffers = [[prime] for _ in range(num_samples)]
    write_text(out, header(0) + prime)
    pending, last_flush = [], time.perf_counter()
    for chars in chunks:
        pending.append(chars[0])
        for i in range(1, num_samples):
            buffers[i].append(chars[i])
        if len(pending) >= 256 or time.perf_counter() - last_flush > 0.05:
            write_text(out, "".join(pending))
            pending, last_flush = [], time.perf_counter()
    write_text(out, "".join(pending))
    for i in range(1, num_samples):
        write_text(out, header(i) + "".join(buffers[i]))
    write_text(out, "\n")


def sample_summary(checkpoint: str, ck, settings, seed: int, num_samples: int, stats, seconds: float,
                   prime: str) -> None:
    """`charrnn sample --verbose`: the model, the settings, how likely the text was, the speed,
    and where the two architectures met: the prime read teacher forced, the rest free running."""
    total = sum(stats.generated)
    mean_lp = sum(stats.log_prob) / max(total, 1)
    print(f"checkpoint {checkpoint} ({ck.config.label()}, step {ck.train.step if ck.train else '?'})\n"
          f"settings: length {settings.length}, temperature {settings.temperature}, top-k {settings.top_k}, "
          f"top-p {settings.top_p}, greedy {settings.greedy}, seed {seed}, samples {num_samples}, "
          f"stop {settings.stop!r}\n"
          f"mean log-probability per generated character: {mean_lp:.4f} nats\n"
          f"{total} characters in {seconds:.2f} s: {total / max(seconds, 1e-9):,.0f} chars/s\n"
          f"characters 1..{len(prime)}: the prime, read teacher forced (observed input); from character "
          f"{len(prime) + 1} on: free running (each sampled character fed back as the next input)", file=sys.stderr)


def write_items(report: dict, out, replace_unencodable: bool = False) -> None:
    """A list model's items on stdout, one a line, nothing else: `> more.txt` makes a list."""
    if replace_unencodable and hasattr(out, "reconfigure"):
        out.reconfigure(errors="replace")
    write_text(out, "".join(row["item"] + "\n" for row in report["items"]))


def items_summary(report: dict) -> None:
    """One line on stderr: how many items, how many new and seen (and cut, and found of those asked)."""
    c, n = report["counts"], len(report["items"])
    if report["marked"]:
        line = (f"{n} item{'' if n == 1 else 's'}: {c['new']} new, {c['train']} in the training list, "
                f"{c['val']} in the validation list")
    else:
        line = f"{n} items (the checkpoint keeps no items to mark them by)"
    if c["cut"]:
        line += f"; {c['cut']} cut at --length {report['length_cap']} before their end"
    if n < report["asked"]:
        line += f"; asked for {report['asked']}, found {n} in {report['drawn']:,} tries"
    print(line, file=sys.stderr)


def samples_json(chunks, prime: str, num_samples: int, stats, seed: int) -> None:
    """`sample --json` of a running text's model: each sample whole, with its log-probability."""
    from charrnn.views.terminal import json_out

    texts = ["".join(chars) for chars in zip(*chunks)] if num_samples else []
    texts = texts or [""] * num_samples
    json_out({"seed": seed, "prime": prime, "samples": [
        {"text": prime + t, "generated": n, "log_prob": lp} for t, n, lp in zip(texts, stats.generated, stats.log_prob)]})
