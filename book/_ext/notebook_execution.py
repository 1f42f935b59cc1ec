"""Notebook execution that cannot stall silently: the book build's client (tools.execute's too).

Why (issue 11, item 6). The stock nbclient waits for a cell's reply with ONE poll of the kernel's
shell socket, as long as the whole cell timeout (600 s here), and reads the IOPub socket with a
poll that has no timeout at all. Those polls go through pyzmq's asyncio integration, which watches
ZeroMQ's edge-triggered file descriptor; when an edge is missed (a known pyzmq failure mode, more
likely on a loaded machine: zeromq/pyzmq#1558) the poll sleeps although the reply is already
there, until its timeout fires, and then pyzmq's final ``poll(0)`` finds the reply and the cell
"succeeds". That is the stall the issue saw: a chapter about 600 s late, kernel idle, client
waiting, build green. On IOPub the same miss costs the cell's outputs: after 4 s nbclient gives
up waiting for them, logs a warning and goes on with what it has.

What this client changes, nothing else:

* every wait on a socket is a slice of at most ``poll_interval`` seconds (1 s), repeated until the
  cell's deadline, so a missed wake-up costs at most one slice; each one found (the slice came back
  empty although a message was waiting) is counted and logged;
* a cell that really does not finish fails at its deadline with a ``CellTimeoutError`` that names
  the notebook, the code cell (its number among the code cells, its index and id) and its first
  line; outputs that do not arrive within ``iopub_timeout`` after the reply fail the same way
  instead of being dropped;
* each kernel talks over IPC sockets in a private temporary folder instead of TCP ports, so two
  kernels started at once (a build beside a test run) cannot race for the same port.

:func:`setup` (a Sphinx extension, listed in ``_config.yml``) makes myst-nb's cache executor, which
calls ``jupyter_cache.executors.utils.executenb``, run notebooks with this client.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import typing as t
from datetime import datetime, timezone
from pathlib import Path
from queue import Empty

import nbclient
from nbclient.exceptions import CellTimeoutError
from nbclient.util import ensure_async
from traitlets import Float, Unicode

_log = logging.getLogger(__name__)

#: The notebook the build is reading now (set by the ``source-read`` event), for error messages.
CURRENT = {"notebook": ""}


class WatchedNotebookClient(nbclient.NotebookClient):
    """An ``nbclient.NotebookClient`` whose waits are sliced and whose timeouts name the cell."""

    poll_interval = Float(1.0, help="Longest single wait on a kernel socket, in seconds.")
    notebook_name = Unicode("", help="The notebook's path, for error messages.")

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        kwargs.setdefault("raise_on_iopub_timeout", True)
        kwargs.setdefault("iopub_timeout", 30)
        kwargs.setdefault("shell_timeout_interval", 1)  # the kernel_info wait, sliced the same way
        super().__init__(*args, **kwargs)
        #: Messages read long after the kernel sent them (missed wake-ups, recovered by slicing).
        self.missed_wakeups = 0
        self.longest_wait = 0.0
        self._ipc_dir: str | None = None

    # -- where the kernel listens: IPC files in a private folder, not TCP ports -------------------
    def create_kernel_manager(self) -> t.Any:
        km = super().create_kernel_manager()
        self._ipc_dir = tempfile.mkdtemp(prefix="vae-kernel-")
        km.transport = "ipc"
        km.ip = str(Path(self._ipc_dir) / "k")
        return km

    async def _async_cleanup_kernel(self) -> None:
        try:
            await super()._async_cleanup_kernel()
        finally:
            if self._ipc_dir:
                shutil.rmtree(self._ipc_dir, ignore_errors=True)
                self._ipc_dir = None
            if self.missed_wakeups:
                _log.warning(
                    "%s: %d kernel message(s) read more than %.1f s after they were sent "
                    "(missed wake-ups; the longest %.1f s), each recovered by the next slice",
                    self.notebook_name or "notebook", self.missed_wakeups,
                    self.poll_interval / 2, self.longest_wait,
                )

    # -- sliced waits ------------------------------------------------------------------------------
    async def _get_msg(self, channel: t.Any, timeout: float) -> dict[str, t.Any]:
        """One slice: a message from ``channel`` within ``timeout`` s, or ``Empty``.

        A message that reached us well after the kernel sent it (its header's date) waited in the
        socket while the poll slept: a missed wake-up, counted and logged at the end.
        """
        msg = await ensure_async(channel.get_msg(timeout=timeout))
        sent = msg.get("header", {}).get("date")
        if isinstance(sent, datetime):
            late = (datetime.now(timezone.utc) - sent).total_seconds()
            if late > self.poll_interval / 2:
                self.missed_wakeups += 1
                self.longest_wait = max(self.longest_wait, late)
        return msg

    def _where(self, cell: t.Any) -> str:
        cells = self.nb.cells
        index = next((i for i, c in enumerate(cells) if c is cell), -1)
        number = sum(1 for c in cells[: index + 1] if c.cell_type == "code")
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        name = self.notebook_name or CURRENT["notebook"] or "notebook"
        return (
            f"{name}: code cell {number} of {sum(c.cell_type == 'code' for c in cells)} "
            f"(index {index}, id {cell.get('id', '?')}), which begins {first[:80]!r}"
        )

    def _timeout_error(self, what: str, seconds: float, cell: t.Any) -> CellTimeoutError:
        return CellTimeoutError.error_from_timeout_and_cell(
            f"{self._where(cell)}: {what}", int(seconds), cell
        )

    async def _async_poll_for_reply(  # type: ignore[override]
        self,
        msg_id: str,
        cell: t.Any,
        timeout: int | None,
        task_poll_output_msg: t.Any,
        task_poll_kernel_alive: t.Any,
    ) -> dict[str, t.Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                left = self.poll_interval if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    await self._async_check_alive()
                    raise self._timeout_error(
                        f"no reply from the kernel within the cell timeout of {timeout} s",
                        timeout or 0, cell,
                    )
                try:
                    msg = await self._get_msg(self.kc.shell_channel, min(self.poll_interval, left))
                except Empty:
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                try:
                    await asyncio_wait_for(task_poll_output_msg, self.iopub_timeout)
                except TimeoutError:
                    raise self._timeout_error(
                        "the kernel replied, but its outputs did not all arrive within "
                        f"{self.iopub_timeout} s (lost IOPub messages)",
                        self.iopub_timeout, cell,
                    ) from None
                return msg
        finally:
            task_poll_kernel_alive.cancel()

    async def _async_poll_output_msg(  # type: ignore[override]
        self, parent_msg_id: str, cell: t.Any, cell_index: int
    ) -> None:
        while True:
            try:
                msg = await self._get_msg(self.kc.iopub_channel, self.poll_interval)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except nbclient.exceptions.CellExecutionComplete:
                    return


async def asyncio_wait_for(task: t.Any, seconds: float) -> t.Any:
    """``asyncio.wait_for`` that raises the built-in ``TimeoutError`` on every Python version."""
    import asyncio

    try:
        return await asyncio.wait_for(task, seconds)
    except asyncio.TimeoutError:
        raise TimeoutError from None


def execute(nb: t.Any, **kwargs: t.Any) -> t.Any:
    """``nbclient.execute`` with :class:`WatchedNotebookClient`, in jupyter-cache's signature."""
    cwd = kwargs.pop("cwd", None)
    resources = {"metadata": {"path": cwd}} if cwd else {}
    kwargs.setdefault("notebook_name", CURRENT["notebook"])
    return WatchedNotebookClient(nb=nb, resources=resources, **kwargs).execute()


def _remember_notebook(app: t.Any, docname: str, source: t.Any) -> None:
    CURRENT["notebook"] = str(Path(app.env.doc2path(docname)).relative_to(app.srcdir))


def setup(app: t.Any) -> dict[str, t.Any]:
    from jupyter_cache.executors import utils as cache_utils

    cache_utils.executenb = execute
    app.connect("source-read", _remember_notebook)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
