"""charrnn: a character-level RNN in NumPy, trained by teacher forcing and BPTT.

The Python interface (docs/python.md):

    import charrnn
    m = charrnn.load("runs/RUN/best.safetensors")     # a Model
    m.sample(200, prime="ROMEO:")                      # the new text
    m.loss("some text")                                # nats per character
    summary = charrnn.train("corpus.txt", time="2m")   # what `charrnn train --json` gives

Importing charrnn changes no process-wide setting. The command line keeps freed memory for the
next window (glibc's malloc; what it is worth: docs/benchmarks.md): call
`charrnn.keep_freed_memory()` once to have the same in a script.
"""

__version__ = "0.1.0"
__all__ = ["load", "train", "Model", "UserError", "keep_freed_memory"]


def __getattr__(name):  # the interface is imported on first use: `charrnn --help` stays fast
    if name in ("load", "Model"):
        from charrnn.api import model

        return getattr(model, name)
    if name == "train":
        from charrnn.api.train import train

        return train
    if name == "UserError":
        from charrnn.ground.errors import UserError

        return UserError
    if name == "keep_freed_memory":
        from charrnn.cli.memory import keep_freed_memory

        return keep_freed_memory
    raise AttributeError(f"module 'charrnn' has no attribute {name!r}")
