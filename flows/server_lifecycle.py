"""The CLI's temporary Prefect server dies with the CLI, however the CLI ends.

Without a ``PREFECT_API_URL`` a flow run starts Prefect's temporary API server as a child
process (``SubprocessASGIServer``) and stops it at interpreter exit. A CLI killed with
SIGKILL runs no exit hook, so the child (~190 MB) was left running. On Linux the kernel can
signal a child when its parent dies (``prctl(PR_SET_PDEATHSIG)``): :func:`bind_server_to_cli`
makes the server's ``Popen`` set it in the child before ``exec``.

The death signal follows the *thread* that forked the child. The server is started from
the thread that runs the flow engine, which lives as long as the command, or (``condorcap
run``, :func:`start_server_early`) from a thread parked for the life of the command; the
signal is SIGTERM so uvicorn shuts down cleanly.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
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


def start_server_early() -> Callable[[], None]:
    """Start the temporary server now, in the background; return a ``wait`` for it.

    The server process boots for seconds on the other core while this process would
    otherwise only wait for it: the CLI imports the flow's modules and warms up in that
    time, then calls ``wait()`` before the flow (which finds the server running — Prefect's
    ``SubprocessASGIServer`` is one instance per process). The starting thread is parked for
    the life of the command: the server's death signal follows the thread that forked it
    (see the module docstring). Without a temporary server (``PREFECT_API_URL`` set) the
    ``wait`` does nothing.
    """
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():  # the environment, a profile or prefect.toml names a server
        return lambda: None
    from prefect.server.api.server import SubprocessASGIServer

    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            SubprocessASGIServer().start()
        except BaseException as exc:  # re-raised by wait(), in the caller's thread
            failure.append(exc)
        finally:
            ready.set()
        threading.Event().wait()  # parked: the server's parent thread must outlive the run

    threading.Thread(target=run, name="condorcap-prefect-server", daemon=True).start()

    def wait() -> None:
        ready.wait()
        if failure:
            raise failure[0]

    return wait
