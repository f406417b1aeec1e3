"""The errors a user can cause. Each carries a message that is one line for the user and the
exit code the command ends with; the CLI turns any of them into "Error: <message>" on stderr
(in one place, `cli/params.OneLineErrors`), so the library raises and never prints."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user gave (a file, an option, a checkpoint), or a condition they
    can fix (a full disk, a diverging learning rate)."""

    exit_code = 1


class SettingsError(UserError, ValueError):
    """Options that do not fit together; a usage error (exit code 2, as Click's own)."""

    exit_code = 2
