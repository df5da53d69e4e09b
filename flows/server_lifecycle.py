"""The CLI's temporary Prefect server dies with the CLI, however the CLI ends.

Without a ``PREFECT_API_URL`` a flow run starts Prefect's temporary API server as a child
process (``SubprocessASGIServer``) and stops it at interpreter exit. A CLI killed with
SIGKILL runs no exit hook, so the child (~190 MB) was left running. On Linux the kernel can
signal a child when its parent dies (``prctl(PR_SET_PDEATHSIG)``): :func:`bind_server_to_cli`
makes the server's ``Popen`` set it in the child before ``exec``.

The death signal follows the *thread* that forked the child. The server is started from
the thread that runs the flow engine, which lives as long as the command; the signal is
SIGTERM so uvicorn shuts down cleanly.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl: do not outlive it
        os._exit(1)


class _PopenDyingWithParent(subprocess.Popen):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        parent = os.getpid()
        kwargs.setdefault("preexec_fn", lambda: _die_with_parent(parent))
        super().__init__(*args, **kwargs)


class _SubprocessShim:
    """``subprocess`` as Prefect's server module sees it, with a ``Popen`` that dies with us."""

    Popen = _PopenDyingWithParent

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)


def bind_server_to_cli() -> bool:
    """Make the temporary Prefect server a child that dies with this process (Linux only).

    Returns whether it was applied (not on other platforms, nor with an external server).
    """
    if not sys.platform.startswith("linux") or os.environ.get("PREFECT_API_URL"):
        return False
    from prefect.server.api import server

    server.subprocess = _SubprocessShim()  # type: ignore[assignment]
    return True
