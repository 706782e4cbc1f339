"""A fault-injecting TCP proxy: makes one dependency fail for one process, nothing else.

The app (or a worker) is pointed at the proxy instead of the real server, so a test can cut,
slow down and restore PostgreSQL, Redis or the broker without touching the shared services.
"""

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit


@dataclass
class TcpProxy:
    """Forwards loopback connections to `target_host:target_port`.

    - `open` False: each new connection is accepted and reset at once (`dropped` counts them),
      as when the server is down behind a load balancer.
    - `cut()`: closes `open` and also resets every established connection, as when the server
      crashes or the network between them fails.
    - `delay`: seconds to hold each chunk the server sends back, a slow server; `held` counts
      the chunks held right now.
    """

    target_host: str
    target_port: int
    open: bool = False
    delay: float = 0.0
    dropped: int = 0
    held: int = 0
    _server: asyncio.Server | None = None
    _sockets: list[asyncio.StreamWriter] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @classmethod
    async def to(cls, url: str) -> tuple["TcpProxy", str]:
        """An open proxy in front of the server of `url`, and `url` rewritten to go through it."""
        parts = urlsplit(url)
        proxy = cls(parts.hostname or "127.0.0.1", parts.port or 0, open=True)
        port = await proxy.start()
        netloc = parts.netloc.rsplit("@", 1)
        netloc[-1] = f"127.0.0.1:{port}"
        return proxy, urlunsplit(parts._replace(netloc="@".join(netloc)))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            pass  # stop(): the proxy goes away with its connections
        finally:
            self._tasks.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            self.dropped += 1
            _reset(writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            _reset(writer)
            return
        self._sockets += [writer, upstream_writer]
        await asyncio.gather(
            self._pipe(reader, upstream_writer, delayed=False),
            self._pipe(upstream_reader, writer, delayed=True),
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delayed: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if delayed and self.delay:
                    self.held += 1
                    try:
                        await asyncio.sleep(self.delay)
                    finally:
                        self.held -= 1
                if writer.is_closing():
                    return
                writer.write(data)
                await writer.drain()
        writer.close()

    def cut(self) -> None:
        """Refuse new connections and reset the established ones, in both directions."""
        self.open = False
        for writer in self._sockets:
            _reset(writer)
        self._sockets.clear()

    async def stop(self) -> None:
        self.cut()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST instead of a FIN, so the peer sees a failure, not a polite goodbye."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
