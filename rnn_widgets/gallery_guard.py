"""What keeps one anonymous visitor of the gallery from harming the class: the kernel protocol and a kernel cap.

The gallery (``rnn-widgets gallery``) has no login: anyone who reaches its port can open pages. Two things
such a visitor could do to everyone else are closed here, both by patching Voila's handlers in the gallery's
own Voila process (as :func:`rnn_widgets.gallery.fix_voila_shutdown` does):

* :func:`refuse_legacy_kernel_protocol`. Voila 0.5's kernel websocket
  (``voila/tornado/kernel_websocket_handler.py``) reads the header of every binary frame it sends as the v1
  protocol (``v1.kernel.websocket.jupyter.org``). A client that connects without that subprotocol gets the
  older protocol, whose binary frames start with a 4-byte big-endian count; read as a little-endian 8-byte
  count it is ~10¹⁸, and the list of offsets built from it grows on the server's event loop until the machine
  runs out of memory. Any widget that sends binary buffers (bqplot's marks do, on ``request_state``) sets it
  off. Voila's own page always asks for v1, so the gallery refuses a connection that does not (HTTP 400), and
  the header reader is replaced by one that checks the frame's offsets against its length. At most
  :data:`SOCKETS_PER_KERNEL` websockets may be open to one kernel (429 beyond): each costs the server four of
  its ~1,000 ZMQ sockets, and 300 of them to one page's kernel left the server unable to start anyone else's.
* :class:`KernelLimits`. Each page view starts (or takes from the pool) a kernel of ~0.3–0.4 GB that lives
  until the page closes, or until culled 5 minutes after its page went. The gallery admits at most
  ``max_pages`` pages with a kernel at once (503 "the class is full" beyond) and at most ``per_client`` from
  one client (429; a client is an IPv4 address or an IPv6 /64), and a client may open at most
  :data:`STARTS_PER_PAGE_PER_MINUTE` × ``per_client`` pages a minute (opening and closing pages in a loop
  starts kernels), so no visitor can hold more than a few kernels however many GETs it sends. In a classroom
  behind one NAT address every student is the same client: there, ``per_client=0`` (no per-client limit).
"""
from __future__ import annotations

import collections
import contextvars
import functools
import html
import ipaddress
import os
import time

#: the kernel websocket subprotocol Voila's front end asks for (jupyter_server's name for it)
V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"

#: resident memory of one page's kernel after the whole tour, rounded up (``python benchmarks/memory.py``: 320 MB)
KERNEL_MB = 400
#: what the server, the pool's bookkeeping and the operating system keep for themselves
RESERVED_MB = 1024
#: pages one client address may hold at once: a student with a few tabs open, never a flood
DEFAULT_PER_CLIENT = 4
#: pages a client may open per minute, per page it may hold (opening and closing pages in a loop starts kernels)
STARTS_PER_PAGE_PER_MINUTE = 3
#: websockets open at once to one kernel: its page's, and one more while the page reconnects. Each costs the
#: server four ZMQ sockets, of which a process has about a thousand: unbounded, one page's websockets left the
#: server unable to start anyone else's kernel.
SOCKETS_PER_KERNEL = 2


# --------------------------------------------------------------------------------------------------------------
# The kernel websocket


def read_v1_header(frame: bytes) -> dict | None:
    """The header of a v1-protocol binary frame, or None when ``frame`` is not one.

    A v1 frame is ``n`` (8 bytes, little-endian), then ``n`` offsets of 8 bytes each, then the parts (channel,
    header, parent header, metadata, content, buffers) between consecutive offsets. Every count and offset is
    checked against the frame's length before it is used, so no frame costs more than reading it once.
    """
    import json

    if len(frame) < 8:
        return None
    count = int.from_bytes(frame[:8], "little")
    if count < 3 or 8 * (count + 1) > len(frame):
        return None
    offsets = [int.from_bytes(frame[8 * (i + 1):8 * (i + 2)], "little") for i in range(3)]
    if not offsets[1] <= offsets[2] <= len(frame):
        return None
    try:
        header = json.loads(frame[offsets[1]:offsets[2]].decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError and json's JSONDecodeError
        return None
    return header if isinstance(header, dict) else None


def offered_protocols(header_value: str | None) -> list[str]:
    """The subprotocols a websocket request offers (its ``Sec-WebSocket-Protocol`` header)."""
    return [p.strip() for p in (header_value or "").split(",") if p.strip()]


LEGACY_REFUSED = (f"This gallery's kernels speak only the {V1_PROTOCOL} websocket protocol "
                  "(Voila's page asks for it); connect with that subprotocol.")


def refuse_legacy_kernel_protocol() -> bool:
    """Make Voila's kernel websocket refuse clients that do not ask for the v1 protocol, and read v1 headers
    safely (see the module's docstring). Returns False when this Voila has no such handler (nothing to fix)."""
    try:
        from voila.tornado import kernel_websocket_handler as module
    except ImportError:
        return False
    handler = getattr(module, "VoilaKernelWebsocketHandler", None)
    if handler is None or not hasattr(module, "read_header_from_binary_message"):
        return False
    module.read_header_from_binary_message = read_v1_header
    if getattr(handler.get, "_refuses_legacy", False):
        return True
    original_get, original_open, original_on_close = handler.get, handler.open, handler.on_close

    @functools.wraps(original_get)
    async def get(self, kernel_id, *args, **kwargs):
        if V1_PROTOCOL not in offered_protocols(self.request.headers.get("Sec-WebSocket-Protocol")):
            self.log.warning("rnn-widgets: refused a kernel websocket without the v1 protocol from %s",
                             self.request.remote_ip)
            self.set_status(400)
            self.finish(LEGACY_REFUSED)
            return None
        if _sockets[kernel_id] >= SOCKETS_PER_KERNEL:
            self.log.warning("rnn-widgets: refused a websocket to kernel %s from %s: %d open already",
                             kernel_id, self.request.remote_ip, _sockets[kernel_id])
            self.set_status(429)
            self.finish(SOCKETS_REFUSED)
            return None
        _sockets[kernel_id] += 1  # counted from now (concurrent handshakes count too), until released once
        self._rnn_socket = kernel_id
        try:
            return await original_get(self, kernel_id, *args, **kwargs)
        finally:
            if not getattr(self, "_rnn_opened", False):  # the handshake failed: no on_close will come
                _release_socket(self)

    @functools.wraps(original_open)
    async def open(self, *args, **kwargs):
        self._rnn_opened = True
        return await original_open(self, *args, **kwargs)

    @functools.wraps(original_on_close)
    def on_close(self):
        _release_socket(self)
        return original_on_close(self)

    get._refuses_legacy = True
    handler.get, handler.open, handler.on_close = get, open, on_close
    return True


_sockets: collections.Counter = collections.Counter()  # kernel id → its websockets counted now

SOCKETS_REFUSED = (f"This kernel has {SOCKETS_PER_KERNEL} connections open already (its page's); "
                   "close one before opening another.")


def _release_socket(handler) -> None:
    kernel_id = handler.__dict__.pop("_rnn_socket", None)
    if kernel_id is not None:
        _sockets[kernel_id] -= 1
        if _sockets[kernel_id] <= 0:
            del _sockets[kernel_id]


# --------------------------------------------------------------------------------------------------------------
# The kernel cap


def machine_memory_mb() -> float:
    """The machine's physical memory in MB (a generous 4 GB where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        return 4096.0


def default_max_pages(pool: int = 0, memory_mb: float | None = None) -> int:
    """How many pages (each with its kernel) fit beside ``pool`` preheated kernels in the machine's memory:
    (memory − 1 GB) / 0.4 GB − pool, at least 2. On a 4 GB server with a pool of 2, that is 5 pages; on 24 GB, 56."""
    memory = machine_memory_mb() if memory_mb is None else memory_mb
    return max(2, int((memory - RESERVED_MB) // KERNEL_MB) - pool)


def _address(text: str):
    """``text`` as an IP address (an IPv4 address written as IPv6, ``::ffff:a.b.c.d``, as IPv4), or None."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _key(address) -> str:
    """What a client is counted as: its IPv4 address, or its IPv6 /64 network (one household or laptop gets a
    whole /64, so counting IPv6 addresses one by one would give a single visitor billions of them)."""
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_of(remote_ip: str, forwarded_for: str | None) -> str:
    """The client a page is counted against. A request from this machine that carries ``X-Forwarded-For`` came
    through a reverse proxy here (nginx, the hub's proxy): the address the proxy saw, the list's last, is the
    client. From any other peer the header is ignored, so a remote client cannot choose its own address."""
    peer = _address(remote_ip)
    if peer is None:
        return remote_ip
    if peer.is_loopback and forwarded_for:
        forwarded = _address(forwarded_for.split(",")[-1])
        if forwarded is not None:
            return _key(forwarded)
    return _key(peer)


class _PageRequest:
    """The page request being served (a context variable, so a concurrent request never sees another's)."""

    def __init__(self, client: str):
        self.client, self.has_kernel = client, False


_request = contextvars.ContextVar("rnn_widgets_page_request", default=None)


class KernelLimits:
    """Pages with a live kernel, per client address; admits a page only within ``max_pages`` and ``per_client``.

    A page is counted from the moment its request is admitted (``pending``) and then by its kernel's id, until
    the kernel is gone (closed with its page, culled, or shut down). ``per_client=0`` counts no client apart.
    """

    def __init__(self, max_pages: int, per_client: int = DEFAULT_PER_CLIENT, clock=time.monotonic):
        if max_pages < 1 or per_client < 0:
            raise ValueError(f"max_pages must be at least 1 and per_client at least 0, got {max_pages}, {per_client}")
        self.max_pages, self.per_client, self.clock = max_pages, per_client, clock
        self.kernels: dict[str, set[str]] = {}  # client → ids of its pages' kernels
        self.pending: dict[str, int] = {}       # client → pages admitted whose kernel is not known yet
        self.recent: dict[str, collections.deque] = {}  # client → when its last pages were admitted

    def _forget_gone(self, live: set[str]) -> None:
        for client in list(self.kernels):
            self.kernels[client] &= live
            if not self.kernels[client]:
                del self.kernels[client]

    def held(self, client: str) -> int:
        return len(self.kernels.get(client, ())) + self.pending.get(client, 0)

    def total(self) -> int:
        return sum(len(ids) for ids in self.kernels.values()) + sum(self.pending.values())

    def refusal(self, client: str, live: set[str]) -> tuple[int, str] | None:
        """None to admit a page for ``client`` (given the ids of the live kernels), else (status, why)."""
        self._forget_gone(live)
        if self.per_client and self.held(client) >= self.per_client:
            return 429, (f"You already have {self.held(client)} pages of this gallery open, the most one computer "
                         "may hold at once. Close one of them (its kernel stops with it) and reload this page.")
        if self.per_client and self._opened_lately(client) >= self.per_client * STARTS_PER_PAGE_PER_MINUTE:
            return 429, ("You opened many pages of this gallery in the last minute; each starts a kernel for you. "
                         "Wait a minute and reload this page.")
        if self.total() >= self.max_pages:
            return 503, (f"The class is full: {self.total()} pages are open, as many as this server can hold. "
                         "Try again in a minute.")
        return None

    def _opened_lately(self, client: str) -> int:
        times, minute_ago = self.recent.get(client), self.clock() - 60
        while times and times[0] < minute_ago:
            times.popleft()
        if times is not None and not times:
            del self.recent[client]
        return len(times or ())

    def admit(self, client: str) -> None:
        self.pending[client] = self.pending.get(client, 0) + 1
        self.recent.setdefault(client, collections.deque()).append(self.clock())

    def started(self, client: str, kernel_id: str) -> None:
        """The admitted page of ``client`` has its kernel."""
        self.release(client)
        self.kernels.setdefault(client, set()).add(kernel_id)

    def release(self, client: str) -> None:
        """An admitted page of ``client`` that got no kernel (a redirect, an error) holds nothing."""
        left = self.pending.get(client, 0) - 1
        if left > 0:
            self.pending[client] = left
        else:
            self.pending.pop(client, None)


FULL_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>{title}</h1><p role="alert">{why}</p></body></html>
"""


def _full_page(status: int, why: str) -> str:
    title = "Too many pages open" if status == 429 else "The class is full"
    return FULL_PAGE.format(title=title, why=html.escape(why))


def _page_has(kernel_id: str, limits: KernelLimits) -> None:
    request = _request.get()
    if request is not None and not request.has_kernel:
        request.has_kernel = True
        limits.started(request.client, kernel_id)


def _record_page_kernels(kernel_manager, limits: KernelLimits) -> None:
    """Wrap this kernel manager's two ways of giving a page its kernel so that the page's client is recorded.
    The handler's request sets the client (:class:`_PageRequest`); the pool's own kernels (``VOILA_PREHEAT=True``) belong to no page until handed out."""
    if getattr(kernel_manager, "_rnn_widgets_records", False):
        return
    start_kernel = kernel_manager.start_kernel

    async def start_kernel_for_page(*args, **kwargs):
        from jupyter_core.utils import ensure_async

        kernel_id = await ensure_async(start_kernel(*args, **kwargs))
        if (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "False":
            _page_has(kernel_id, limits)
        return kernel_id

    kernel_manager.start_kernel = start_kernel_for_page
    get_rendered = getattr(kernel_manager, "get_rendered_notebook", None)
    if get_rendered is not None:
        async def rendered_for_page(*args, **kwargs):
            result = await get_rendered(*args, **kwargs)
            _page_has(result[2], limits)  # (render task, rendered cells, kernel id)
            return result

        kernel_manager.get_rendered_notebook = rendered_for_page
    kernel_manager._rnn_widgets_records = True


def wrap_voila_pages(flag: str, wrap) -> bool:
    """Replace Voila's page handler (``VoilaHandler.get_generator``, an async generator of the page's HTML) by
    ``wrap(original)``, once: ``flag`` marks it done (functools.wraps copies the marks of earlier wrappers, so
    each mark stays visible). Returns False when this Voila has no such handler (tested with 0.5.x)."""
    try:
        from voila.handler import VoilaHandler
    except ImportError:
        return False
    original = getattr(VoilaHandler, "get_generator", None)
    if original is None:
        return False
    if not getattr(original, flag, False):
        wrapped = functools.wraps(original)(wrap(original))
        setattr(wrapped, flag, True)
        VoilaHandler.get_generator = wrapped
    return True


def limit_page_kernels(limits: KernelLimits) -> bool:
    """Make Voila's page handler admit pages within ``limits`` (a clear 503/429 page beyond them). Returns False
    when this Voila has no such handler."""
    return wrap_voila_pages("_limits_page_kernels", functools.partial(_limited_pages, limits=limits))


def _limited_pages(original, limits: KernelLimits):
    """Voila's page handler ``original``, admitting a page only within ``limits``."""
    async def get_generator(self, *args, **kwargs):
        _record_page_kernels(self.kernel_manager, limits)
        client = client_of(self.request.remote_ip, self.request.headers.get("X-Forwarded-For"))
        refused = limits.refusal(client, set(self.kernel_manager.list_kernel_ids()))
        if refused is not None:
            status, why = refused
            self.log.warning("rnn-widgets: refused a page to %s (%d): %s", client, status, why)
            self.set_status(status)
            self.set_header("Retry-After", "60")
            yield _full_page(status, why)
            return
        limits.admit(client)
        request = _PageRequest(client)
        _request.set(request)
        try:
            async for chunk in original(self, *args, **kwargs):
                yield chunk
        finally:
            _request.set(None)  # not reset(token): a generator closed later may run in another context
            if not request.has_kernel:
                limits.release(client)

    return get_generator
