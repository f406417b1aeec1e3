"""What every new results row records of where it was measured: the date, the machine and its CPU
model, the cores, and the commit of the code (with "-dirty" where the working tree had changes)."""

from __future__ import annotations

import os
import pathlib
import platform
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def cpu_name() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def commit() -> str | None:
    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    return None if not head else head + ("-dirty" if git("status", "--porcelain", "--", "charrnn") else "")


def provenance() -> dict:
    return {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(), "cpu": cpu_name(),
            "cores": os.cpu_count(), "commit": commit()}
