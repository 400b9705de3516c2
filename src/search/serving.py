"""Production serving: the gunicorn configuration, ``gunicorn -c python:search.serving``.

This module is a gunicorn configuration file (each module-level name that is
a gunicorn setting sets it; the command line overrides any of them) and the
worker class it names. It serves ``search:create_app()`` with the worker
count, threads and timeouts docs/operations.md recommends, and:

**Request lines as long as the settings allow.** A query may have
``SEARCH_MAX_QUERY_CHARS`` characters (1,000) and a filter
``SEARCH_MAX_FILTER_CHARS`` (1,000). In a URL a Devanagari character takes 9
bytes (3 UTF-8 bytes, each written ``%XX``), any character at most 12, so the
request line of the longest search the service accepts is about 31 KB
(:func:`request_line_bytes`). gunicorn's ``limit_request_line`` is 4,094 bytes
by default (a query of about 450 Devanagari characters got a 414) and cannot
be raised above 8,190: ``gunicorn.http.message.Request`` clamps any larger
value to ``MAX_REQUEST_LINE``. Its 0, "unlimited", is no way out: the pure
Python parser then reads a line of any length into memory (gunicorn_h1c stops
at 1 MB). So :class:`Worker` (gunicorn's ``gthread`` worker, the one
``--threads`` selects) reads requests with :class:`_Request`, gunicorn's own
request and parser with only the line limit replaced by
:func:`request_line_bytes`: a longer line still gets gunicorn's 414, read no
further. ``limit_request_line`` stays at gunicorn's 8,190 here, so another
worker class given on the command line falls back to a safe bound. Header
fields may be as long as the request line plus an address, since a browser's
``Referer`` carries a search page's whole URL.

**Errors in JSON.** gunicorn answers a request it cannot read (line or
headers too long, malformed) with an HTML page of its own; :class:`Worker`
keeps gunicorn's status, logging and access log, and writes the body as every
other error of the service: ``{"error": ..., "message": ...}``.

**Settings checked before forking.** ``on_starting`` reads the ``SEARCH_*``
settings in the master: a value that cannot be read is one line in the error
log and exit status 78 (EX_CONFIG), instead of every worker failing to boot
with a traceback.
"""

from __future__ import annotations

import errno
import html
import json
import os
import re
import sys
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.http.message import MAX_REQUEST_LINE, Request
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import TConn, ThreadWorker

from .cli import EXIT_CONFIG
from . import admission
from .config import Settings, SettingsError

#: Bytes one character takes in a URL at most: 4 UTF-8 bytes, each written ``%XX``.
URL_BYTES_PER_CHAR = 12
#: Characters of the two highlight tags a search may give (at most 200 each, ``search.params.tag``).
_TAG_CHARS = 2 * 200
#: The rest of a request line: method, path, the other parameters, the protocol.
_OTHER_BYTES = 2048
#: Room for a header's name and an address before a URL (``Referer: https://host/``).
_HEADER_OVERHEAD = 1024


def request_line_bytes(settings: Settings) -> int:
    """The longest request line accepted: room for the longest query and filter the
    settings allow, written in the widest characters, with highlight tags and the
    other parameters.

    >>> request_line_bytes(Settings())
    30848
    """
    chars = settings.max_query_chars + settings.max_filter_chars + _TAG_CHARS
    return URL_BYTES_PER_CHAR * chars + _OTHER_BYTES


def _settings() -> Settings:
    try:
        return Settings.load()
    except SettingsError:  # on_starting reports it and stops gunicorn
        return Settings()


_SETTINGS = _settings()
_LINE_BYTES = request_line_bytes(_SETTINGS)

# -- gunicorn settings (names gunicorn reads from this module) ----------------

wsgi_app = "search:create_app()"
worker_class = "search.serving.Worker"
#: Processes: one per core, at least two (each opens the index itself; -w overrides).
workers = max(2, os.cpu_count() or 1)
#: Threads per worker: cheap searches are answered while expensive ones run.
threads = 4
#: A worker silent this long is killed; SEARCH_QUERY_TIME_LIMIT (5 s) stops a search long before.
timeout = 30
graceful_timeout = 30
limit_request_line = MAX_REQUEST_LINE  # the most gunicorn allows; Worker reads up to _LINE_BYTES
limit_request_fields = 100
limit_request_field_size = _LINE_BYTES + _HEADER_OVERHEAD


#: Python's switch interval in a worker (seconds; the default is 0.005): a thread
#: waiting for the interpreter gets it after at most this long, so a cheap search
#: beside a long one waits 1 ms at each step instead of 5 (bench/load.py).
SWITCH_INTERVAL = 0.001


def post_fork(server: Any, worker: Any) -> None:
    """In each worker: the shorter switch interval (:data:`SWITCH_INTERVAL`)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def on_starting(server: Any) -> None:
    """In the master, before any worker: a setting that cannot be read stops gunicorn
    with one line saying which and what it must be, exit status 78. Then the
    admission budget every worker shares (:class:`search.admission.ExpensiveSearches`)."""
    try:
        settings = Settings.load()
    except SettingsError as exc:
        server.log.error("cannot start: %s", exc)
        if server.pidfile is not None:
            server.pidfile.unlink()
        sys.exit(EXIT_CONFIG)
    admission.SERVER_ADMISSION = admission.ExpensiveSearches(settings.cheap_cost, settings.work_budget)


# -- the worker ----------------------------------------------------------------


class _Request(Request):
    """gunicorn's request, its line limited to ``line_bytes`` instead of at most 8,190 bytes."""

    line_bytes = _LINE_BYTES

    def parse(self, unreader: Any) -> Any:
        # Request.__init__ has set both limits from the clamped cfg.limit_request_line;
        # the Python parser reads the first, gunicorn_h1c the second.
        self.limit_request_line = self._fast_limit_request_line = self.line_bytes
        return super().parse(unreader)


class _Connection(TConn):
    """A gthread connection whose HTTP/1 parser makes :class:`_Request` s."""

    def init(self) -> None:
        super().init()
        if isinstance(self.parser, RequestParser):
            self.parser.mesg_class = _Request


class _Captured:
    """Stands in for the client socket while gunicorn writes its HTML error page."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0  # util.write_nonblock then writes with sendall, touching nothing else

    def sendall(self, data: bytes) -> None:
        self.data += data


_STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ([^\r\n]*)\r\n")
_HTML_MESSAGE = re.compile(rb"</h1>\s*(.*?)\s*</body>", re.S)


class Worker(ThreadWorker):
    """gunicorn's ``gthread`` worker, reading request lines up to :func:`request_line_bytes`
    and answering the requests it cannot read in JSON."""

    def accept(self, listener: Any) -> None:
        """As :meth:`ThreadWorker.accept`, with a :class:`_Connection`."""
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            conn = _Connection(self.cfg, client_sock, client_addr, listener.getsockname())
            self.enqueue_req(conn)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's answer (status, log line, access log) with a JSON body instead of HTML."""
        captured = _Captured()
        super().handle_error(req, captured, addr, exc)
        status, reason = 500, "Internal Server Error"
        message = ""
        line = _STATUS_LINE.match(captured.data)
        if line:
            status, reason = int(line.group(1)), line.group(2).decode("latin-1")
            found = _HTML_MESSAGE.search(captured.data)
            message = html.unescape(found.group(1).decode("latin-1")) if found else ""
        if isinstance(exc, LimitRequestLine):
            message = (
                f"the request line is longer than {_Request.line_bytes:,} bytes: a query may have at most "
                f"{_SETTINGS.max_query_chars} characters and a filter {_SETTINGS.max_filter_chars}"
            )
        elif isinstance(exc, LimitRequestHeaders):
            message = (
                f"the request headers are too large: at most {self.cfg.limit_request_fields} headers "
                f"of at most {self.cfg.limit_request_field_size:,} bytes each"
            )
        kind = "internal_error" if status == 500 else re.sub(r"[^a-z]+", "_", reason.lower()).strip("_")
        body = json.dumps({"error": kind, "message": message or reason}, ensure_ascii=False).encode("utf-8")
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")
