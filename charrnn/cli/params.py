"""How the `charrnn` command parses and fails, kept apart from the commands (commands.py): options
built from the library's dataclass fields (`ground/fields.option`), so each default is written once;
the duration type of --time; --ascii and --threads as decorators; and the one place where every
error, Click's or the library's (`errors.UserError`), becomes one line on stderr and an exit code.
"""

from __future__ import annotations

import functools
import sys

import click
from click.core import ParameterSource

from charrnn.ground.errors import UserError
from charrnn.ground.fields import flag, option_fields, seconds_of

SETTINGS = {"help_option_names": ["-h", "--help"]}


class OneLineErrors(click.Group):
    """Every error, Click's or the library's, is one line on stderr and an exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as e:
            hint = f" (see 'charrnn {e.ctx.info_name} --help')" if e.ctx and e.ctx.parent else ""
            fail(f"{e.format_message()}{hint}", e.exit_code)
        except click.ClickException as e:
            fail(e.format_message(), e.exit_code)
        except UserError as e:
            fail(str(e), e.exit_code)
        except click.exceptions.Abort:
            fail("Aborted.", 1, prefix="")
        sys.exit(rv if isinstance(rv, int) else 0)


def fail(message: str, code: int, prefix: str = "Error: "):
    click.echo(f"{prefix}{message}", err=True)
    sys.exit(code)


class Duration(click.ParamType):
    """90s, 10m, 1h, 1h30m, or plain seconds (ground/fields.seconds_of)."""

    name = "DURATION"

    def convert(self, value, param, ctx):
        try:
            return seconds_of(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


def click_type(f, meta):
    if meta["choices"]:
        return click.Choice(list(meta["choices"]))
    kind = meta["type"] or type(f.default)
    if kind in (int, float) and (meta["low"] is not None or meta["high"] is not None):
        rng = click.IntRange if kind is int else click.FloatRange
        return rng(meta["low"], meta["high"], min_open=meta["open_low"], max_open=meta["open_high"])
    return kind


def options_from(cls, *, skip=(), recipe=()):
    """Click options for the user-facing fields of dataclass `cls` (see ground/fields.option); the
    fields in `recipe` show "recipe" as their default (chosen for the corpus and budget)."""

    def decorate(command):
        for f, meta in reversed(option_fields(cls)):
            if f.name in skip:
                continue
            if isinstance(f.default, bool):
                command = click.option(flag(f.name), f.name, is_flag=True, help=meta["help"])(command)
            else:
                shown = "recipe" if f.name in recipe else f.default is not None
                command = click.option(flag(f.name), f.name, type=click_type(f, meta), default=f.default,
                                       show_default=shown, help=meta["help"])(command)
        return command

    return decorate


def given(cls, values: dict) -> dict:
    """The values of `cls`'s fields that the user typed (not left at their default)."""
    ctx = click.get_current_context()
    return {f.name: values.pop(f.name) for f, _ in option_fields(cls) if f.name in values
            and ctx.get_parameter_source(f.name) is not ParameterSource.DEFAULT}


def with_ascii(command):
    """Adds --ascii to a command that draws tables or charts."""

    @click.option("--ascii", "ascii_", is_flag=True,
                  help="Draw tables and charts in plain ASCII (also: $CHARRNN_ASCII=1; chosen by itself when "
                       "stdout cannot encode box characters).")
    @functools.wraps(command)
    def run(*args, ascii_, **kwargs):
        from charrnn.views import terminal

        terminal.use_ascii(ascii_)
        return command(*args, **kwargs)

    return run


def with_blas_threads(command):
    """Adds --threads to a command and runs the command's body under that BLAS thread limit."""

    @click.option("--threads", type=click.IntRange(1, 4096), default=None, show_default="one per core",
                  help="Threads for the matrix products (BLAS); 1 is faster when other work keeps a core busy.")
    @functools.wraps(command)
    def run(*args, threads, **kwargs):
        from charrnn.cli.threads import blas_threads

        with blas_threads(threads):
            return command(*args, **kwargs)

    return run
