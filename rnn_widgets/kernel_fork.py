"""Kernels forked from one process that has already imported torch: a gallery kernel imports nothing again.

Every page of the gallery gets a kernel of its own, and a plain kernel starts by importing IPython, ipykernel,
torch, ipywidgets and bqplot: about 2 CPU-seconds each time, most of a page view's cost, and the floor of a
class arriving at once (ten kernels importing torch on two cores). Here one *template* process imports all of
that once; each kernel is a ``fork()`` of it that goes straight to running ipykernel with its connection file.
Pages of memory the template loaded are shared by every kernel until one writes to them.

* :class:`ForkProvisioner` is a jupyter_client kernel provisioner (entry point ``rnn-widgets-fork``). For the
  standard IPython kernel command it asks the template for a fork; for any other kernel, or when the template
  cannot be started, it launches the kernel as jupyter_client's :class:`LocalProvisioner` does.
* ``python -m rnn_widgets.kernel_fork`` is the template: it reads one JSON request a line on stdin (the
  kernel's argv, environment and working directory), forks, and answers the child's pid on stdout.

The gallery's Voila selects it, on Linux only (``rnn_widgets.gallery._fork_kernels``); Binder and the hub start
kernels as usual. A forked kernel is its own session leader (signals reach its process group, as for a local
kernel), seeds its random generators afresh, exits when the template goes (ipykernel's parent poller), is
killed before the template when memory runs out, and is reaped by the template, which counts its CPU time.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import os
import signal
import sys
import threading
import time

#: what every gallery kernel imports anyway (the tour imports them all): imported once, by the template
PRELOAD = ("IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "comm", "numpy", "torch", "ipywidgets",
           "bqplot", "anywidget", "rnn_widgets", "rnn_widgets.widgets")

#: how long a launch waits for the template to answer before launching the kernel the usual way
ANSWER_TIMEOUT = 60.0
#: failures of the template in a row after which kernels start the usual way
MAX_FAILURES = 3
#: a kernel's /proc/self/oom_score_adj: when memory runs out, the kernel is killed before its template, whose
#: death would take every kernel with it
KERNEL_OOM_SCORE_ADJ = "300"

#: room in the template's command line for each kernel's own (``ps`` then shows which kernel a process is)
_CMDLINE_ROOM = "#" * 480


# --------------------------------------------------------------------------------------------------------------
# The provisioner's side


def is_ipykernel_command(cmd: list[str]) -> bool:
    """Whether ``cmd`` is the standard IPython kernel run by this interpreter's environment (what the template
    can become): ``PYTHON -m ipykernel_launcher -f CONNECTION_FILE``."""
    return (len(cmd) == 5 and cmd[1:3] == ["-m", "ipykernel_launcher"] and cmd[3] == "-f"
            and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable))


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (field 22 of /proc/PID/stat), or None if there is no such live process
    (a zombie counts as gone: the template reaps it at once)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in "ZX" else fields[19]


class ForkedKernel:
    """What jupyter_client's :class:`LocalProvisioner` needs of a ``Popen`` for a kernel that is not its child:
    ``pid``, ``poll``, ``wait``, ``send_signal``, ``kill``, ``terminate``. Its exit status is unknown (the
    template reaps it): gone reads as 0."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None
        self._started = _start_time(pid)

    def poll(self) -> int | None:
        if self.returncode is None and (self._started is None or _start_time(self.pid) != self._started):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Template:
    """The template process, started on first use; one per server process, shared by its kernels.

    A template that does not answer within :data:`ANSWER_TIMEOUT` is killed (a fork it made late dies with it:
    its kernels watch it), and after :data:`MAX_FAILURES` failures in a row kernels are no longer forked (a
    template that cannot import what it preloads would otherwise be started again for every kernel)."""

    _lock = threading.Lock()
    _proc = None
    failures = 0

    @classmethod
    def fork(cls, argv: list[str], env: dict, cwd: str, timeout: float = ANSWER_TIMEOUT) -> int:
        """Fork a kernel running ``argv`` (ipykernel's arguments); its pid. Raises OSError when it cannot."""
        with cls._lock:
            if cls.failures >= MAX_FAILURES:
                raise OSError(f"the kernel template failed {cls.failures} times in a row; no more forks")
            try:
                pid = cls._ask(json.dumps({"argv": argv, "env": env, "cwd": cwd}), timeout)
            except OSError:
                cls.failures += 1
                cls._stop()
                raise
            cls.failures = 0
            return pid

    @classmethod
    def _ask(cls, request: str, timeout: float) -> int:
        import select
        import subprocess

        if cls._proc is None or cls._proc.poll() is not None:
            cls._stop()
            # its stderr is the server's (the kernels' messages go to the same log as usual); its folder is /,
            # so that nothing in the server's folder shadows a module it preloads
            cls._proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.kernel_fork", _CMDLINE_ROOM], cwd="/",
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        try:
            cls._proc.stdin.write(request + "\n")
            cls._proc.stdin.flush()
            if not select.select([cls._proc.stdout], [], [], timeout)[0]:
                raise OSError(f"the kernel template did not answer within {timeout:.0f} s")
            answer = cls._proc.stdout.readline()
        except ValueError as exc:  # a closed pipe
            raise OSError(f"the kernel template is gone: {exc}") from exc
        try:
            return int(json.loads(answer)["pid"])
        except (ValueError, KeyError, TypeError) as exc:
            raise OSError(f"the kernel template answered {answer[:200]!r}") from exc

    @classmethod
    def _stop(cls) -> None:
        """Kill the template (if any) and close our ends of its pipes."""
        if cls._proc is None:
            return
        with contextlib.suppress(OSError):
            cls._proc.kill()
        cls._proc.wait()
        for pipe in (cls._proc.stdin, cls._proc.stdout):
            with contextlib.suppress(OSError):  # a request it never read: nothing to flush to
                pipe.close()
        cls._proc = None


@functools.cache
def _provisioner_class():
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        """Launches the standard IPython kernel as a fork of the template (see the module's docstring)."""

        async def launch_kernel(self, cmd: list[str], **kwargs):
            if not is_ipykernel_command(cmd):
                return await super().launch_kernel(cmd, **kwargs)
            env = {str(k): str(v) for k, v in (kwargs.get("env") or os.environ).items()}
            cwd = str(kwargs.get("cwd") or os.getcwd())
            loop = asyncio.get_running_loop()
            try:  # Template.fork keeps its own deadline: a thread is never left waiting on the template
                pid = await loop.run_in_executor(None, Template.fork, cmd[1:], env, cwd)
            except OSError as exc:
                self.log.warning("rnn-widgets: no forked kernel (%s); starting it the usual way", exc)
                return await super().launch_kernel(cmd, **kwargs)
            self.process = ForkedKernel(pid)
            self.pid = self.pgid = pid  # the kernel leads its own session and process group
            self.cwd = cwd
            return self.connection_info

        async def send_signal(self, signum: int) -> None:
            # the template reaps a kernel at once, so its pid (and process group) may soon be someone else's
            if isinstance(self.process, ForkedKernel) and self.process.poll() is not None:
                return
            await super().send_signal(signum)

    return ForkProvisioner


def __getattr__(name: str):
    # the class is made on first use, so importing this module (the template does) imports no jupyter_client
    if name == "ForkProvisioner":
        return _provisioner_class()
    raise AttributeError(name)


# --------------------------------------------------------------------------------------------------------------
# The template's side


def _reap(_signum=None, _frame=None) -> None:
    """Reap every kernel that has exited (its CPU time then counts in the template's ``children`` times)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _set_cmdline(text: str) -> None:
    """Write ``text`` over this process's command line (what ``ps`` and /proc/PID/cmdline show), within the room
    the template's own command line leaves. Best effort: nothing happens where it cannot be done."""
    try:
        import ctypes

        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (fields 48 and 49 of the whole line)
        data = text.encode()[: end - start - 1].replace(b" ", b"\0")
        ctypes.memmove(start, data + b"\0" * (end - start - len(data)), end - start)
    except (OSError, ValueError, IndexError, AttributeError):
        pass


def _register_comm_targets() -> None:
    """What the preloaded modules do at import inside a kernel, and could not do in the template, which has none:
    ipywidgets registers the comm targets through which the page creates widgets and asks for every widget's
    state at once (without them the page falls back to asking each widget in turn)."""
    import ipywidgets

    ipywidgets.register_comm_target()


def _fresh_random_state() -> None:
    """Seed what a new Python process seeds from the operating system's entropy (random, numpy's global
    generator, torch's default generator), so that forks do not share one stream."""
    import random

    import numpy as np
    import torch

    random.seed()
    np.random.seed()
    torch.seed()


def _become_kernel(request: dict) -> None:
    """In the fork: leave the template's pipes, signals and session, take the request's environment and working
    directory, and run ipykernel. Never returns."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # an interrupt is KeyboardInterrupt, as usual
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(2, 1)  # the kernel's own prints go where the server's messages go, as for a local kernel
        os.close(devnull)
        sys.stdin = open(0, closefd=False)
        os.environ.clear()
        os.environ.update(request["env"])
        if sys.path and sys.path[0] in ("", os.getcwd()):  # the template's folder, as ipykernel_launcher does
            del sys.path[0]
        os.chdir(request["cwd"])
        _fresh_random_state()
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
            f.write(KERNEL_OOM_SCORE_ADJ)
        argv = [str(a) for a in request["argv"]]
        _set_cmdline(" ".join([sys.executable, *argv]))
        # ipykernel read JPY_PARENT_PID when the template imported it: say the parent here, so that the kernel
        # exits if the template goes (a local kernel exits with its server the same way)
        sys.argv = [*([argv[1], *argv[2:]] if argv[:1] == ["-m"] else argv),
                    f"--IPKernelApp.parent_handle={os.getppid()}"]
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()  # what ipykernel_launcher runs, with one step between its two
        app.initialize()
        _register_comm_targets()
        app.start()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # noqa: BLE001 - whatever happens, the fork must not return into the template's loop
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve_forks(requests=None, answers=None) -> None:
    """The template's loop: one JSON request a line in, one ``{"pid": N}`` (or ``{"error": ...}``) a line out."""
    requests, answers = requests or sys.stdin, answers or sys.stdout
    for name in PRELOAD:
        __import__(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the server's to handle
    signal.signal(signal.SIGCHLD, _reap)
    gc.collect()
    gc.freeze()  # the imported objects stay out of the kernels' collections: their pages stay shared longer
    for line in requests:
        try:
            request = json.loads(line)
            if not (isinstance(request.get("argv"), list) and isinstance(request.get("env"), dict)
                    and isinstance(request.get("cwd"), str)):
                raise ValueError("expected argv (list), env (dict) and cwd (str)")
        except (ValueError, AttributeError) as exc:
            answers.write(json.dumps({"error": str(exc)[:200]}) + "\n")
            answers.flush()
            continue
        pid = os.fork()
        if pid == 0:
            _become_kernel(request)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve_forks()
