"""Shared fixtures: a fixed seed for every test, the ground-truth data folder and a loopback data mirror."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from spikebook.data import paths, remote


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads go to a dead loopback port unless a test serves a mirror: no test reaches the internet."""
    monkeypatch.setenv(remote.URL_ENV_VAR, "http://127.0.0.1:9/")


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data folder by the package's own resolution (``SPIKEBOOK_DATA``, ``../shared/data``, the cache)."""
    root = paths.data_root()
    if not (root / "spikefinder").is_dir() or not (root / "cascade_chen2013").is_dir():
        pytest.skip(f"ground-truth data not found in {root}: run `python -m spikebook.data fetch chen2013 spikefinder`")
    return root


class Mirror:
    """A folder served over HTTP on 127.0.0.1, with the paths it was asked for (in order)."""

    def __init__(self, folder: Path, url: str, requests: list[str]) -> None:
        self.folder, self.url, self.requests = folder, url, requests


class _Handler(http.server.SimpleHTTPRequestHandler):
    cut: ClassVar[frozenset[str]] = frozenset()  # paths whose body stops halfway (an interrupted download)
    seen: ClassVar[list[str]]

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path.lstrip("/") not in self.cut:
            return super().do_GET()
        body = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Mirror]]:
    """``serve(folder, cut=())``: serve ``folder`` as the data mirror (``SPIKEBOOK_DATA_URL``) until the test ends.

    Every file sits at its path in the data folder, so a copy of (part of) a data folder is a mirror; the
    paths in ``cut`` are sent with their full length announced and half their bytes.
    """
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(folder: Path, cut: tuple[str, ...] = ()) -> Mirror:
        seen: list[str] = []
        handler = type("Handler", (_Handler,), {"cut": frozenset(cut), "seen": seen})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        for name in ("NO_PROXY", "no_proxy"):  # never send loopback requests through a proxy
            monkeypatch.setenv(name, "127.0.0.1")
        monkeypatch.setenv(remote.URL_ENV_VAR, url)
        return Mirror(folder, url, seen)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
