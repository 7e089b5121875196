"""A TCP proxy on 127.0.0.1 that tests control: pass, delay, reset, blackhole, refuse.

Modes apply to the proxy as a whole:

* ``pass``: forward bytes both ways.
* ``delay``: forward, each chunk held back ``delay_seconds`` first.
* ``blackhole``: keep every connection open (no FIN, no RST) but drop all bytes, as a
  half-open connection behind a NAT that lost its state does; new connections are accepted
  and blackholed too. When one end of a blackholed connection closes, the other end is not
  told (no FIN): it stays open until its own keepalive, deadline or probe gives up.
* ``refuse``: new connections are closed at once with RST (as if nothing listened).

``blackhole_existing()`` blackholes only the connections open now; new ones are forwarded.

``reset_all()`` closes every live connection with RST (``SO_LINGER 0``). Counters:
``accepted`` connections over the proxy's life and ``live`` connections now.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_CHUNK = 65536
_MODES = ("pass", "delay", "blackhole", "refuse")


def _rst_close(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``upstream`` on one selector thread."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.mode = "pass"
        self.delay_seconds = 0.0
        self.accepted = 0
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._waker_r, self._waker_w = socket.socketpair()
        self._selector.register(self._waker_r, selectors.EVENT_READ)
        self._running = True
        self._pending_resets = False
        self._blackholed: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._serve, name="test-tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def live(self) -> int:
        """Connections currently open through the proxy."""
        with self._lock:
            return len(self._pairs) // 2

    def set_mode(self, mode: str, *, delay_seconds: float = 0.0) -> None:
        """Switch mode; applies to live connections at once."""
        assert mode in _MODES, mode
        self.mode = mode
        self.delay_seconds = delay_seconds

    def blackhole_existing(self) -> None:
        """Silently drop all bytes of the connections open now; new ones pass."""
        with self._lock:
            self._blackholed = set(self._pairs)

    def reset_all(self) -> None:
        """Close every live connection with RST, both sides."""
        self._pending_resets = True
        self._waker_w.send(b"x")

    def close(self) -> None:
        """Stop the proxy and close every socket."""
        self._running = False
        self._waker_w.send(b"x")
        self._thread.join(5)
        for sock in list(self._pairs):
            _rst_close(sock)
        self._pairs.clear()
        self._selector.close()
        self._listener.close()
        self._waker_r.close()
        self._waker_w.close()

    def _serve(self) -> None:
        while self._running:
            for key, _ in self._selector.select(timeout=0.5):
                sock = key.fileobj
                if sock is self._listener:
                    self._accept()
                elif sock is self._waker_r:
                    self._waker_r.recv(_CHUNK)
                elif isinstance(sock, socket.socket):
                    self._forward(sock)
            if self._pending_resets:
                self._pending_resets = False
                for sock in list(self._pairs):
                    self._drop(sock, rst=True)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self.mode == "refuse":
            _rst_close(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
        except OSError:
            _rst_close(client)
            return
        self.accepted += 1
        for sock in (client, upstream):
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
        with self._lock:
            self._pairs[client] = upstream
            self._pairs[upstream] = client

    def _forward(self, sock: socket.socket) -> None:
        peer = self._pairs.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(_CHUNK)
        except OSError:
            data = b""
        blackholed = self.mode == "blackhole" or sock in self._blackholed
        if not data:
            if blackholed:
                self._silence(sock)
            else:
                self._drop(sock, rst=False)
            return
        if blackholed:
            return
        if self.mode == "delay" and self.delay_seconds > 0:
            # The test asked for a slow link: holding the selector thread is the point.
            time.sleep(self.delay_seconds)
        try:
            peer.sendall(data)
        except OSError:
            self._drop(sock, rst=True)

    def _silence(self, sock: socket.socket) -> None:
        # Close the end that closed, but keep its peer open and unaware (still blackholed).
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    def _drop(self, sock: socket.socket, *, rst: bool) -> None:
        with self._lock:
            peer = self._pairs.pop(sock, None)
            if peer is not None:
                self._pairs.pop(peer, None)
            self._blackholed.discard(sock)
            self._blackholed.discard(peer)  # type: ignore[arg-type]
        for s in (sock, peer):
            if s is None:
                continue
            try:
                self._selector.unregister(s)
            except (KeyError, ValueError):
                pass
            if rst:
                _rst_close(s)
            else:
                s.close()


@contextmanager
def tcp_proxy(upstream_port: int) -> Iterator[TcpProxy]:
    """A running proxy to ``upstream_port``, closed afterwards."""
    proxy = TcpProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
