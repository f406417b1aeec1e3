"""The `charrnn` command: parse the options, call the library, render the result.

    commands.py   the commands
    params.py     options built from the library's dataclass fields, --time's durations, one-line errors
    memory.py     glibc's malloc keeps freed pages for the next window (process setting)
    threads.py    how many threads BLAS may use (process setting)
"""

from charrnn.cli.commands import main

__all__ = ["main"]
