"""A client that closes its connection while the request waits for the origin: the
request ends with 499, the origin connection is closed at once (never pooled) and
limit_conn's count is given back; proxy_ignore_client_abort on lets the origin's
response complete. Pipelined requests on a keep-alive connection are no abort."""
import socket
import threading
import time

import pytest

from backend import Backends, custom, response
from conftest import read_response

pytestmark = pytest.mark.needs_module("http_proxy")

LOG = "log_format st '$uri $status';\naccess_log logs/st.log st;\n"


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


class Watch:
    """An origin handler that sends `first` (if any), then waits (at most `wait`
    seconds) for the proxy to close the connection, recording when it did; with
    `answer` it answers after `wait` instead."""

    def __init__(self, first=b"", wait=5.0, answer=None):
        self.first, self.wait, self.answer = first, wait, answer
        self.closed_after = []
        self.got = threading.Event()

    def __call__(self, req):
        return custom(self.run)

    def run(self, sock, req):
        if self.first:
            sock.sendall(self.first)
        self.got.set()
        start = time.monotonic()
        if self.answer is not None:
            time.sleep(self.wait)
            try:
                sock.sendall(self.answer)
            except OSError:
                pass
            return False
        sock.settimeout(self.wait)
        try:
            while sock.recv(4096):
                pass
            self.closed_after.append(time.monotonic() - start)
        except (socket.timeout, OSError):
            pass
        return False


def start(ptc, b, loc="", http=""):
    return ptc.start(LOG + http + "server { listen 127.0.0.1:%%PORT%%; location / { "
                     "proxy_pass http://%s; %s } }" % (b.addr, loc))


def send_and_close(srv, watch, path="/a", head=False):
    s = srv.connect()
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    assert watch.got.wait(5)
    got = b""
    while head and b"\r\n\r\n" not in got:
        got += s.recv(65536)
    s.close()


def log_lines(srv):
    return srv.access_log("st.log").splitlines()


def test_abort_while_waiting_for_the_head_is_499(ptc, backends):
    w = Watch()
    b = backends.new(w)
    srv = start(ptc, b)
    send_and_close(srv, w)
    assert srv.wait_for(lambda: log_lines(srv))
    assert log_lines(srv) == ["/a 499"]
    # the origin saw its connection closed promptly, not after its 5 s wait
    assert srv.wait_for(lambda: w.closed_after, timeout=3)
    assert w.closed_after[0] < 2.0, w.closed_after
    assert srv.wait_for(lambda: "client prematurely closed connection" in srv.error_log())


def test_ignore_client_abort_lets_the_response_complete(ptc, backends):
    w = Watch(wait=0.5, answer=response(200, b"done", {"Connection": "close"}))
    b = backends.new(w)
    srv = start(ptc, b, "proxy_ignore_client_abort on;")
    send_and_close(srv, w)
    assert srv.wait_for(lambda: log_lines(srv))
    assert log_lines(srv) == ["/a 200"]
    assert not w.closed_after


def test_limit_conn_count_is_released_by_the_abort(ptc, backends):
    w = Watch()
    calls = []

    def handler(req):
        calls.append(req.path)
        return w(req) if req.path == "/hold" else None

    b = backends.new(handler)
    srv = start(ptc, b, "limit_conn one 1;",
                "limit_conn_zone $binary_remote_addr zone=one:1m;\n")
    send_and_close(srv, w, "/hold")
    assert srv.wait_for(lambda: w.closed_after, timeout=3)
    assert srv.get("/next").status == 200
    assert srv.wait_for(lambda: len(log_lines(srv)) == 2)
    assert sorted(log_lines(srv)) == ["/hold 499", "/next 200"]


def test_abort_during_a_buffered_response(ptc, backends):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"
    w = Watch(first=head + b"x" * 8000)
    b = backends.new(w)
    srv = start(ptc, b)
    send_and_close(srv, w, head=True)
    assert srv.wait_for(lambda: w.closed_after, timeout=3)
    assert w.closed_after[0] < 2.0
    # part of the response went out: logged with its status, as nginx does
    assert srv.wait_for(lambda: log_lines(srv))
    assert log_lines(srv) == ["/a 200"]


def test_pipelined_requests_are_not_an_abort(ptc, backends):
    def handler(req):
        if req.path == "/slow":
            time.sleep(0.5)
        return None

    b = backends.new(handler)
    srv = start(ptc, b)
    s = srv.connect()
    s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b.wait_requests(1)
    # the next request arrives while the first waits for the origin
    s.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    r1 = read_response(s)
    r2 = read_response(s)
    s.close()
    assert (r1.status, r2.status) == (200, 200)
    assert r1.body.endswith(b"GET /slow") and r2.body.endswith(b"GET /fast")
    assert srv.wait_for(lambda: len(log_lines(srv)) == 2)
    assert log_lines(srv) == ["/slow 200", "/fast 200"]


def test_abort_with_unbuffered_request_body(ptc, backends):
    w = Watch()
    b = backends.new(w)
    srv = start(ptc, b, "proxy_request_buffering off; proxy_http_version 1.1;")
    s = srv.connect()
    s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    assert w.got.wait(5)
    s.close()
    assert srv.wait_for(lambda: log_lines(srv))
    assert log_lines(srv) == ["/up 499"]
    assert srv.wait_for(lambda: w.closed_after, timeout=3)
    assert w.closed_after[0] < 2.0
