"""What one anonymous visitor of the gallery can do to the class: against the real ``rnn-widgets gallery``.

The gallery has no login. These tests play that visitor with plain HTTP and websocket clients (no browser):
the legacy-protocol websocket that froze Voila 0.5 (rnn_widgets/gallery_guard.py), a flood of widget state
requests, more page GETs than the server holds, and the requests Voila itself refuses (files outside the
examples, kernels without a page, code sent to a page's kernel).
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
from browser_support import write_notebook
from gallery_support import (
    attack_kernel_websocket,
    gallery,
    kernel_message_v1,
    page_kernel,
    v1_frame,
    wait_until,
)

from rnn_widgets.gallery_guard import (
    SOCKETS_PER_KERNEL,
    STARTS_PER_PAGE_PER_MINUTE,
    V1_PROTOCOL,
    KernelLimits,
    client_of,
    default_max_pages,
    offered_protocols,
    read_v1_header,
)

websocket = pytest.importorskip("websocket")  # websocket-client, which jupyter_server depends on

ARTIFACTS = Path(__file__).parent / "artifacts"
MARKS = "marks.ipynb"   # a bqplot figure: its marks answer request_state with binary buffers
PROBE = "probe.ipynb"   # one slider
MAX_PAGES, PER_CLIENT = 4, 2


# ------------------------------------------------------------------------------------------------ unit level

def test_the_v1_header_reader_refuses_legacy_and_malformed_frames_at_once():
    header = {"msg_type": "comm_msg", "msg_id": "1"}
    frame = v1_frame("iopub", [json.dumps(header).encode(), b"{}", b"{}", b"{}", b"\0" * 64])
    assert read_v1_header(frame) == header
    # a legacy binary frame: a 4-byte big-endian count, read by Voila 0.5 as an 8-byte little-endian one (~1e18)
    from jupyter_server.services.kernels.connection.base import serialize_binary_message

    legacy = serialize_binary_message({"header": header, "parent_header": {}, "metadata": {}, "content": {},
                                       "buffers": [b"\0" * 64]})
    assert int.from_bytes(legacy[:8], "little") > 10**17
    started = time.perf_counter()
    assert read_v1_header(legacy) is None
    for bad in [b"", b"\x05", (2**62).to_bytes(8, "little") + b"x" * 100, (3).to_bytes(8, "little") + b"\xff" * 40,
                frame[:30], frame.replace(json.dumps(header).encode(), b"[1, 2, 3]"[:len(json.dumps(header))])]:
        assert read_v1_header(bad) is None
    assert time.perf_counter() - started < 0.1


def test_the_limits_count_pages_per_client_and_for_the_class():
    limits = KernelLimits(max_pages=3, per_client=2)
    assert limits.refusal("a", set()) is None
    limits.admit("a"); limits.started("a", "k1")
    limits.admit("a")  # pending: its kernel is starting
    status, why = limits.refusal("a", {"k1"})
    assert status == 429 and "2 pages" in why
    assert limits.refusal("b", {"k1"}) is None
    limits.admit("b"); limits.started("b", "k2")
    status, why = limits.refusal("c", {"k1", "k2"})
    assert status == 503 and "class is full" in why
    limits.release("a")                              # a's second page got no kernel (a redirect)
    assert limits.refusal("c", {"k1", "k2"}) is None
    assert limits.refusal("a", {"k2"}) is None      # k1 went with its page
    assert limits.total() == 1
    assert KernelLimits(3, per_client=0).refusal("a", set()) is None
    with pytest.raises(ValueError):
        KernelLimits(0)


def test_a_client_opening_and_closing_pages_in_a_loop_is_slowed():
    now = [0.0]
    limits = KernelLimits(max_pages=50, per_client=2, clock=lambda: now[0])
    for i in range(2 * STARTS_PER_PAGE_PER_MINUTE):  # each page closed at once: never more than one held
        assert limits.refusal("a", set()) is None
        limits.admit("a"); limits.started("a", f"k{i}")
        now[0] += 1
    status, why = limits.refusal("a", set())
    assert status == 429 and "last minute" in why
    assert limits.refusal("b", set()) is None  # others are not slowed
    now[0] += 60
    assert limits.refusal("a", set()) is None


def test_the_client_is_the_peer_unless_a_local_proxy_says_who():
    assert client_of("203.0.113.5", "10.0.0.1") == "203.0.113.5"  # a remote peer cannot choose its address
    assert client_of("127.0.0.1", "198.51.100.1, 10.0.0.7") == "10.0.0.7"  # the address the proxy saw
    assert client_of("::ffff:127.0.0.1", "10.0.0.7") == "10.0.0.7"  # a dual-stack proxy on this machine
    assert client_of("::ffff:203.0.113.5", None) == "203.0.113.5"
    # one IPv6 /64 is one client, however many of its addresses it uses
    assert client_of("2001:db8:1:2::5", None) == client_of("2001:db8:1:2:ffff::9", None) == "2001:db8:1:2::/64"
    assert client_of("::1", None) == "::/64"
    assert offered_protocols(f" {V1_PROTOCOL} , other") == [V1_PROTOCOL, "other"]
    assert offered_protocols(None) == []


def test_the_default_cap_follows_the_machines_memory():
    assert default_max_pages(pool=2, memory_mb=4096) == 5
    assert default_max_pages(pool=2, memory_mb=24 * 1024) == 56
    assert default_max_pages(pool=0, memory_mb=1024) == 2


# ------------------------------------------------------------------------------------------------ the real gallery

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guard")
    write_notebook(folder / MARKS, [(
        "import bqplot, numpy as np\n"
        "sx, sy = bqplot.LinearScale(), bqplot.LinearScale()\n"
        "bqplot.Figure(marks=[bqplot.Lines(x=np.arange(500.), y=np.sin(np.arange(500.)), scales={'x': sx, 'y': sy}),\n"
        "                     bqplot.Scatter(x=np.arange(500.), y=np.cos(np.arange(500.)), scales={'x': sx, 'y': sy})])")])
    write_notebook(folder / PROBE, ["import ipywidgets\nipywidgets.IntSlider(description='probe')"])
    (folder.parent / "secret.txt").write_text("not for students")
    with gallery(ARTIFACTS / "gallery_guard.log", pool=0, directory=folder, max_pages=MAX_PAGES,
                 pages_per_client=PER_CLIENT) as g:
        g.folder = folder
        yield g


def get(url: str, client: str | None = None, timeout: float = 120) -> tuple[int, str, float]:
    """(status, body, seconds) of a GET; ``client`` is sent as X-Forwarded-For (trusted from loopback only)."""
    request = urllib.request.Request(url, headers={"X-Forwarded-For": client} if client else {})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), time.monotonic() - started
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), time.monotonic() - started


def shutdown(g, kernel_ids) -> None:
    """As the pages' tabs close (Voila's shutdown request; the gallery sets the _xsrf cookie it needs)."""
    for kid in kernel_ids:
        token = uuid.uuid4().hex
        request = urllib.request.Request(f"{g.url}voila/api/shutdown/{kid}", data=f"_xsrf={token}".encode(),
                                         headers={"Cookie": f"_xsrf={token}"}, method="POST")
        try:
            urllib.request.urlopen(request, timeout=30).close()
        except urllib.error.HTTPError:
            pass
    wait_until(lambda: not any(k in " ".join(p.cmdline()) for p in g.kernels() for k in kernel_ids), 60,
               what="the pages' kernels gone")


def server_rss_mb(g) -> float:
    return sum(p.memory_info().rss for p in [psutil.Process(g.proc.pid), *g.processes()]
               if p.pid not in {k.pid for k in g.kernels()}) / 2**20


def test_a_legacy_protocol_client_is_refused_and_a_flood_of_state_requests_harms_no_one(served):
    status, body, _ = get(served.page(MARKS), client="192.0.2.10")
    assert status == 200
    kid = page_kernel(body)
    before = server_rss_mb(served)
    # the attack of issue 25 (no subprotocol), then the same requests flooded over the protocol Voila's page speaks
    result = attack_kernel_websocket(served.url, kid, rounds=20)
    assert result["legacy"] == 400, "a client without the v1 protocol must be refused"
    assert result["comms"] >= 5, "the figure's comms (figure, marks, scales, axes)"
    assert result["states"] >= 20, "the marks answered with their state"
    assert server_rss_mb(served) - before < 200
    for url in [f"{served.url}voila/static/voila.js", f"{served.url}voila/tree"]:
        status, _, seconds = get(url, timeout=10)
        assert status == 200 and seconds < 2, (url, status, seconds)
    shutdown(served, [kid])


def test_a_kernel_takes_only_a_few_websockets_and_hundreds_refused_harm_no_one(served):
    status, body, _ = get(served.page(PROBE), client="192.0.2.30")
    kid = page_kernel(body)
    url = f"{served.url.replace('http', 'ws', 1)}api/kernels/{kid}/channels"
    open_ = [websocket.create_connection(url, timeout=30, subprotocols=[V1_PROTOCOL])
             for _ in range(SOCKETS_PER_KERNEL)]
    try:
        for _ in range(300):  # each was four of the server's ~1,000 ZMQ sockets: 300 left it unable to start kernels
            with pytest.raises(websocket.WebSocketBadStatusException) as refused:
                websocket.create_connection(url, timeout=10, subprotocols=[V1_PROTOCOL])
            assert refused.value.status_code == 429
        status, body, _ = get(served.page(PROBE), client="192.0.2.31")  # someone else's page still starts
        assert status == 200
        other = page_kernel(body)
    finally:
        for ws in open_:
            ws.close()
    time.sleep(1)  # the server sees the closes
    websocket.create_connection(url, timeout=30, subprotocols=[V1_PROTOCOL]).close()  # a closed one frees its place
    shutdown(served, [kid, other])


def test_more_gets_than_the_cap_find_the_cap_held_and_a_clear_page(served):
    base = len(served.kernels())
    opened = []
    # one client: its third page is refused
    for _ in range(PER_CLIENT):
        status, body, _ = get(served.page(PROBE), client="198.51.100.1")
        assert status == 200
        opened.append(page_kernel(body))
    status, body, _ = get(served.page(PROBE), client="198.51.100.1")
    assert status == 429 and "Close one of them" in body and "kernelId" not in body
    # other clients fill the class; beyond it, everyone gets "the class is full"
    for i in range(MAX_PAGES - PER_CLIENT):
        status, body, _ = get(served.page(PROBE), client=f"198.51.100.{2 + i}")
        assert status == 200
        opened.append(page_kernel(body))
    for i in range(6):
        status, body, _ = get(served.page(PROBE), client=f"203.0.113.{i}")
        assert status == 503 and "The class is full" in body and "Try again in a minute" in body
    assert len(served.kernels()) - base == MAX_PAGES
    kernels_mb, _ = served.memory_mb()
    assert kernels_mb < MAX_PAGES * 400
    # a page that closes frees its place
    shutdown(served, opened[:1])
    status, body, _ = get(served.page(PROBE), client="203.0.113.99")
    assert status == 200
    shutdown(served, opened[1:] + [page_kernel(body)])


def test_voila_refuses_files_outside_the_examples_kernels_without_a_page_and_code(served):
    for path in ["voila/files/../secret.txt", "voila/files/%2e%2e/secret.txt", "voila/files//etc/passwd",
                 "voila/render/..%2fsecret.txt", "api/contents", "api/kernels", "voila/api/contents/.."]:
        status, body, _ = get(served.url + path, timeout=30)
        assert "not for students" not in body and "root:" not in body, path
    assert len(served.kernels()) == 0
    for method, path in [("POST", "api/kernels"), ("POST", "api/sessions"), ("DELETE", "api/kernels")]:
        request = urllib.request.Request(served.url + path, data=b"{}", method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code in (403, 404, 405), (method, path)
    assert len(served.kernels()) == 0, "no kernel without a page"

    # code sent to a page's kernel is not run: Voila passes only widget (comm) and info messages
    status, body, _ = get(served.page(PROBE), client="192.0.2.20")
    assert status == 200
    kid = page_kernel(body)
    marker = served.folder / "ran.txt"
    ws = websocket.create_connection(f"{served.url.replace('http', 'ws', 1)}api/kernels/{kid}/channels",
                                     timeout=30, subprotocols=[V1_PROTOCOL])
    try:
        ws.send_binary(kernel_message_v1("execute_request", {"code": f"open({str(marker)!r}, 'w').write('x')",
                                                      "silent": False, "store_history": False,
                                                      "user_expressions": {}, "allow_stdin": False}))
        time.sleep(3)
    finally:
        ws.close()
    assert not marker.exists()
    shutdown(served, [kid])
