"""Kernels forked from the template (rnn_widgets/kernel_fork.py): they behave as kernels started the usual way.

Each test drives real kernels through jupyter_client, as Voila does: code runs in the kernel's own working
directory and environment, the preloaded modules are there without importing them again, ipywidgets' comm
targets are registered, an interrupt interrupts, a shutdown leaves no process (not even a zombie), and a
kernel whose template goes exits too.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from gallery_support import wait_until

from rnn_widgets.kernel_fork import (
    MAX_FAILURES,
    ForkedKernel,
    Template,
    _start_time,
    is_ipykernel_command,
)

FORK = "rnn-widgets-fork"


@pytest.fixture
def fork_provisioner():
    """Kernels started by jupyter_client in this test are forks of the template (as in the gallery's Voila)."""
    from jupyter_client.provisioning import KernelProvisionerFactory

    factory = KernelProvisionerFactory.instance()
    if not factory._check_availability(FORK):
        pytest.fail(f"the entry point {FORK!r} is not installed: pip install -e .")
    before = factory.default_provisioner_name
    factory.default_provisioner_name = FORK
    try:
        yield
    finally:
        factory.default_provisioner_name = before


async def run(kc, code: str, timeout: float = 60) -> dict:
    """Execute ``code``; the reply's content, with what it printed under "stdout"."""
    msg_id = kc.execute(code)
    printed = []
    while True:
        msg = await kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = await kc.get_shell_msg(timeout=timeout)
    return {**reply["content"], "stdout": "".join(printed)}


def test_the_standard_ipykernel_command_is_recognised():
    assert is_ipykernel_command([sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/k.json"])
    assert not is_ipykernel_command(["/usr/bin/other-python", "-m", "ipykernel_launcher", "-f", "/tmp/k.json"])
    assert not is_ipykernel_command([sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/k.json", "--x"])
    assert not is_ipykernel_command(["R", "--slave", "-e", "IRkernel::main()", "x"])


def test_a_forked_kernel_runs_in_its_own_directory_and_environment_with_torch_already_there(fork_provisioner, tmp_path):
    from jupyter_client.manager import AsyncKernelManager

    async def main():
        km = AsyncKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(tmp_path), env={**os.environ, "RNN_WIDGETS_FORK_TEST": "page 7"})
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            process = km.provisioner.process
            assert isinstance(process, ForkedKernel), "the kernel was not forked"
            template = Template._proc.pid
            reply = await run(kc, "import os, sys, json\n"
                                  "print(json.dumps([os.getcwd(), os.environ.get('RNN_WIDGETS_FORK_TEST'), os.getppid(),"
                                  " os.getpid() == os.getpgid(0), 'torch' in sys.modules, sys.path[:1]]))")
            cwd, mark, ppid, leads_group, has_torch, path0 = json.loads(reply["stdout"])
            assert (cwd, mark, ppid) == (str(tmp_path), "page 7", template)
            assert leads_group and has_torch
            assert path0 != [os.getcwd()], "the template's folder leaked into the kernel's sys.path"
            # the comm targets ipywidgets registers when imported in a kernel (the template has none)
            reply = await run(kc, "print(sorted(get_ipython().kernel.comm_manager.targets))")
            assert "jupyter.widget" in reply["stdout"] and "jupyter.widget.control" in reply["stdout"]
            with open(f"/proc/{process.pid}/cmdline", "rb") as f:
                assert b"ipykernel_launcher" in f.read(), "ps should say which kernel this is"

            # an interrupt interrupts the running cell, as for a local kernel
            msg_id = kc.execute("import time; time.sleep(30)")
            while True:  # interrupt once the cell runs (on a loaded machine it may start late)
                msg = await kc.get_iopub_msg(timeout=30)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
                    break
            await asyncio.sleep(0.5)
            await km.interrupt_kernel()
            reply = await kc.get_shell_msg(timeout=20)
            assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["ename"] == "KeyboardInterrupt"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=False)
        # gone, and reaped by the template (no zombie)
        assert process.poll() is not None and _start_time(process.pid) is None

    asyncio.run(main())


@contextlib.asynccontextmanager
async def forked_kernel():
    """A kernel started by jupyter_client (forked, as the fixture selects), its client ready; shut down after."""
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        assert isinstance(km.provisioner.process, ForkedKernel), "the kernel was not forked"
        yield km, kc
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


def test_a_forked_kernel_exits_when_its_template_goes(fork_provisioner):
    async def main():
        async with forked_kernel() as (km, _):
            kernel = km.provisioner.process
            Template._proc.kill()
            Template._proc.wait()
            await asyncio.to_thread(wait_until, lambda: kernel.poll() is not None, 30, 0.2, "the kernel gone")

    asyncio.run(main())
    assert Template._proc.poll() is not None  # the next kernel starts a new template


def test_two_forked_kernels_draw_different_random_numbers(fork_provisioner):
    """As two new processes would: random, numpy's global generator and torch's are seeded afresh in each fork."""
    async def draws() -> str:
        async with forked_kernel() as (_, kc):
            code = "import random, numpy, torch\nprint(random.random(), numpy.random.random(), torch.rand(1).item())"
            return (await run(kc, code))["stdout"]

    first, second = asyncio.run(draws()), asyncio.run(draws())
    assert first and first != second


def test_a_template_that_does_not_answer_in_time_is_stopped_and_repeated_failures_end_the_forks():
    Template._stop()
    Template.failures = 0
    try:
        argv = ["-m", "ipykernel_launcher", "-f", "/nonexistent/kernel.json"]
        with pytest.raises(OSError, match="did not answer"):  # it is still importing torch
            Template.fork(argv, dict(os.environ), "/", timeout=0.01)
        assert Template._proc is None and Template.failures == 1
        Template.failures = MAX_FAILURES
        started = time.monotonic()
        with pytest.raises(OSError, match="no more forks"):
            Template.fork(argv, dict(os.environ), "/")
        assert time.monotonic() - started < 0.1 and Template._proc is None
    finally:
        Template.failures = 0


def test_the_template_answers_a_malformed_request_and_exits_with_its_pipe():
    proc = subprocess.Popen([sys.executable, "-m", "rnn_widgets.kernel_fork"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        for bad in ["not json", json.dumps({"argv": "x", "env": {}, "cwd": "/"}), json.dumps([1, 2])]:
            proc.stdin.write(bad + "\n")
            proc.stdin.flush()
            assert "error" in json.loads(proc.stdout.readline())
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


def test_a_forked_process_reads_as_gone_once_it_exits():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    kernel = ForkedKernel(child.pid)
    assert kernel.poll() is None
    kernel.send_signal(signal.SIGTERM)
    child.wait()  # reaped, as the template reaps its kernels
    started = time.monotonic()
    assert kernel.wait(timeout=5) == 0 and time.monotonic() - started < 1
    kernel.kill()  # a signal to a kernel that is gone does nothing
