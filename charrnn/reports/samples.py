"""What `charrnn sample` reports as data where it does more than stream text: a list model's
whole items, each marked new or seen (by the checkpoint's item hashes, corpus/items.py), drawn
until enough pass --new-only and --unique or the tries run out; and --json's samples.
views/sample.py writes them."""

from __future__ import annotations

from charrnn import sampling
from charrnn.corpus.items import MARKS, SEP, marks
from charrnn.ground.errors import SettingsError, UserError
from charrnn.training.checkpoint import Checkpoint

TRIES_PER_ITEM = 50  # --new-only / --unique draw at most this many items for each one asked for ...
LEAST_TRIES = 1000  # ... and at least this many


class NothingFound(UserError):
    """--new-only or --unique found no item in all its tries."""


def list_samples(ck: Checkpoint, settings: sampling.SampleSettings, seed: int, count: int, prime: str = "",
                 new_only: bool = False, unique: bool = False) -> dict:
    """`count` whole items of a list model, each with its mark ("new", "train", "val"), its
    log-probability and whether it ended before the length cap. An empty item (the model ends it
    at once) is drawn but never kept: a list holds no blank line."""
    if SEP in prime:
        raise SettingsError("a list model's --prime is the start of one item; it cannot hold a line break")
    if settings.stop is not None:
        raise SettingsError("--stop does not apply to a list model: each item ends where the model writes its "
                            "line break; --length caps it")
    if new_only and not ck.items:
        raise SettingsError(f"{ck.path} keeps no items to tell new ones by; leave out --new-only")
    seen, marked = set(), {}

    def keep(item: sampling.Item) -> bool:
        mark = marked.setdefault(item.text, marks([item.text], ck.items or {})[0])
        if not item.text or (new_only and mark != "new") or (unique and item.text in seen):
            return False
        seen.add(item.text)
        return True

    found, drawn = sampling.items(ck.params, ck.config, ck.vocab, settings, seed, count, prime, keep,
                                  max(LEAST_TRIES, TRIES_PER_ITEM * count))
    if not found:
        asked = " and ".join(f for f, on in (("--new-only", new_only), ("--unique", unique)) if on) or "the settings"
        raise NothingFound(f"no item passed {asked} in {drawn:,} tries; raise --temperature, or ask for fewer")
    rows = [{"item": i.text, "mark": marked[i.text], "log_prob": i.log_prob, "ended": i.ended} for i in found]
    return {"checkpoint": ck.path, "seed": seed, "asked": count, "drawn": drawn, "length_cap": settings.length,
            "counts": {**{m: sum(r["mark"] == m for r in rows) for m in MARKS},
                       "cut": sum(not r["ended"] for r in rows)},
            "marked": bool(ck.items), "items": rows}
