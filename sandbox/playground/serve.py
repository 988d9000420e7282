"""`careloop playground`: the scene, the page on loopback, one line to say where, and a
clean stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from aiohttp import web

from careloop.kernel.i18n import Catalogs
from careloop.sandbox.demo import reader_language
from careloop.sandbox.playground.scene import Scene
from careloop.sandbox.playground.web import application

DEFAULT_PORT = 8070


class Playground:
    """A scene and its page, running; `url` is where the page is."""

    def __init__(self, scene: Scene, runner: web.AppRunner, url: str) -> None:
        self.scene = scene
        self.url = url
        self._runner = runner

    @classmethod
    async def open(cls, workdir: Path, *, language: str = "en", host: str = "127.0.0.1",
                   port: int = DEFAULT_PORT, forum: bool = True,
                   simulated: bool = True) -> Playground:
        """Raises OSError, having stopped everything, when the port cannot be had."""
        tr = Catalogs().translator(language)
        scene = await Scene.open(workdir, tr, forum=forum, simulated=simulated)
        runner = web.AppRunner(application(scene, tr), access_log=None, shutdown_timeout=1.0)
        try:
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            await scene.close()
            raise
        bound = runner.addresses[0]
        return cls(scene, runner, f"http://{bound[0]}:{bound[1]}/")

    async def close(self) -> None:
        # The scene first: its world closing answers the page's waiting polls at once.
        await self.scene.close()
        await self._runner.cleanup()


async def run_playground(*, locale: str | None = None, port: int = DEFAULT_PORT,
                         forum: bool = True, simulated: bool = True,
                         out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    catalogs = Catalogs()
    if (language := reader_language(catalogs, locale)) is None:
        return 2
    tr = catalogs.translator(language)
    with tempfile.TemporaryDirectory(prefix="careloop-playground-") as tmp:
        try:
            playground = await Playground.open(Path(tmp), language=language, port=port,
                                               forum=forum, simulated=simulated)
        except OSError as exc:
            print(f"careloop: error: --port {port}: cannot listen on 127.0.0.1:{port}: "
                  f"{exc.strerror or exc}; choose another port, or 0 for any free one",
                  file=sys.stderr)
            return 2
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            print(tr.gettext("careloop playground at {url} (press Ctrl-C to stop)").format(
                url=playground.url), file=stream, flush=True)
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await playground.close()
    return 0
