"""Contestant `aiosignalr` (PyPI): the benchmark hub at `/hub`, as `bench/src/bin/hubs-server.rs`.

    python aiosignalr_server.py [--port 0] [--keepalive SECONDS]

Prints `listening <port>` once it accepts connections. aiosignalr matches method names by
lower-casing the wire name and the Python name, so the methods carry their wire names.
"""

import argparse
import asyncio
import sys

from aiosignalr.server import Hub, ServerOptions, SignalRServer


class BenchHub(Hub):
    async def Echo(self, s: str) -> str:  # noqa: N802 (wire name)
        return s

    async def Broadcast(self, s: str) -> None:  # noqa: N802
        await self.clients.all_.send("Recv", s)

    async def JoinGroup(self, g: str) -> None:  # noqa: N802
        await self.groups.add(g)

    async def JoinGroups(self, prefix: str, n: int) -> None:  # noqa: N802
        for i in range(n):
            await self.groups.add(f"{prefix}{i}")

    async def SendToGroup(self, g: str, s: str) -> None:  # noqa: N802
        await self.clients.group(g).send("Recv", s)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--keepalive", type=float, default=None)
    args = parser.parse_args()
    options = ServerOptions()
    if args.keepalive is not None:
        options.keep_alive_interval = args.keepalive
    server = SignalRServer(BenchHub, options=options)
    _, port = await server.serve("127.0.0.1", args.port, path="/hub")
    print(f"listening {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
