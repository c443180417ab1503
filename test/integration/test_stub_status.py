"""stub_status and the $connections_* variables: nginx's exact page, the
counters of all workers together (kept in shared memory, not reset by a
reload), and what counts as reading, writing and waiting. Configs use @A for
a backend."""

import re
import socket
import subprocess
import time

import pytest

from backend import Backends, hang
from conftest import BIN, read_response

PAGE = re.compile(r"\AActive connections: (\d+) \nserver accepts handled requests\n"
                  r" (\d+) (\d+) (\d+) \nReading: (\d+) Writing: (\d+) Waiting: (\d+) \n\Z")


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, extra="", workers=1, b=None):
    conf = ("server { listen 127.0.0.1:%PORT%; location = /status { stub_status; }"
            " location = /vars { return 200 '$connections_active $connections_reading "
            "$connections_writing $connections_waiting'; }"
            " location / { return 200 ok; } " + extra + " }")
    if b is not None:
        conf = conf.replace("@A", b.addr)
    return ptc.start(conf, workers=workers)


def status(srv):
    """(active, accepts, handled, requests, reading, writing, waiting)."""
    r = srv.get("/status")
    assert r.status == 200
    assert r.header("Content-Type") == "text/plain"
    m = PAGE.match(r.body.decode())
    assert m, r.body
    return tuple(int(x) for x in m.groups())


def settled(srv, want):
    """Poll until the gauges (active, reading, writing, waiting) are `want`."""
    seen = []

    def check():
        s = status(srv)
        seen.append(s)
        return (s[0], s[4], s[5], s[6]) == want
    assert srv.wait_for(check, timeout=5), seen[-3:]
    return seen[-1]


def test_page_of_a_quiet_server(ptc):
    srv = start(ptc)
    # only the status request itself: one connection, writing its response
    active, accepts, handled, requests, reading, writing, waiting = settled(srv, (1, 0, 1, 0))
    assert accepts == handled >= 1
    assert requests >= 1


def test_requests_are_counted(ptc):
    srv = start(ptc)
    before = settled(srv, (1, 0, 1, 0))
    for _ in range(5):
        assert srv.get("/").body == b"ok"
    after = status(srv)
    assert after[3] == before[3] + 6
    assert after[1] - before[1] == 6 and after[2] - before[2] == 6


def test_waiting_and_reading(ptc):
    srv = start(ptc)
    settled(srv, (1, 0, 1, 0))
    idle = [srv.connect() for _ in range(3)]
    settled(srv, (4, 0, 1, 3))
    # a request head in progress is reading
    idle[0].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    settled(srv, (4, 1, 1, 2))
    # finished, the connection is kept alive: waiting again
    idle[0].sendall(b"\r\n")
    assert read_response(idle[0]).body == b"ok"
    settled(srv, (4, 0, 1, 3))
    for s in idle:
        s.close()
    settled(srv, (1, 0, 1, 0))


def test_writing_while_proxied(ptc, backends):
    b = backends.new(lambda req: hang())
    srv = start(ptc, "location /slow { proxy_pass http://@A; proxy_read_timeout 2s; }", b=b)
    settled(srv, (1, 0, 1, 0))
    s = srv.connect()
    s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    settled(srv, (2, 0, 2, 0))
    assert srv.get("/vars").body == b"2 0 2 0"
    s.close()
    # nginx notices the client is gone at once; at the latest the proxy times out
    assert srv.wait_for(lambda: status(srv)[5] == 1, timeout=8)


def test_variables(ptc):
    srv = start(ptc)
    settled(srv, (1, 0, 1, 0))
    assert srv.get("/vars").body == b"1 0 1 0"
    extra = srv.connect()
    assert srv.wait_for(lambda: srv.get("/vars").body == b"2 0 1 1")
    extra.close()


def test_all_workers_together(ptc):
    srv = start(ptc, workers=2)
    first = settled(srv, (1, 0, 1, 0))
    for _ in range(20):
        assert srv.get("/").body == b"ok"
    last = status(srv)
    assert last[3] == first[3] + 21
    assert last[1] - first[1] == 21


def test_not_reset_by_reload(ptc):
    srv = start(ptc)
    for _ in range(3):
        srv.get("/")
    before = status(srv)
    old = srv.worker_pids()
    srv.reload()
    assert srv.wait_for(lambda: srv.worker_pids() and not set(srv.worker_pids()) & set(old))
    after = status(srv)
    assert after[3] > before[3]
    assert after[1] > before[1]


def test_methods(ptc):
    srv = start(ptc)
    r = srv.get("/status", method="HEAD")
    assert r.status == 200 and r.body == b""
    assert srv.get("/status", method="POST", body=b"x").status == 405
    assert srv.get("/status", method="DELETE").status == 405


def test_old_syntax_and_server_level(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; stub_status; "
                    "location = /s { stub_status on; } location = /x { return 200 x; } }")
    assert PAGE.match(srv.get("/s").text)
    assert PAGE.match(srv.get("/other").text)
    assert srv.get("/x").body == b"x"


def test_listed_in_version_output():
    out = subprocess.run([BIN, "-V"], capture_output=True, text=True, timeout=10).stderr
    assert "--with-http_stub_status_module" in out
