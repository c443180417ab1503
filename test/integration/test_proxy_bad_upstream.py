"""Broken origins: invalid status lines and header lines, oversized headers, connections
closed or reset before, inside and after the response head, conflicting framing, and
interim 1xx responses.

A broken response head is a 502 with the standard error page. A response whose body is
cut short must never look complete to the client: the proxy closes the client
connection before the announced length / the terminating chunk."""

import socket
import time

import pytest

from backend import Backends, close, reset, send
from conftest import IncompleteResponse, _parse_one, parse_response

pytestmark = pytest.mark.needs_module("http_proxy")

REQUEST = b"GET /r HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
KEEPALIVE_REQUEST = b"GET /r HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def proxy_to(ptc, b, extra=""):
    srv = ptc.start("""
        server {
            listen 127.0.0.1:%%PORT%%;
            location / { proxy_pass http://%s; %s }
        }""" % (b.addr, extra))
    return srv


def answer(ptc, backends, data, extra=""):
    """Backend answers every request with data (then closes); returns (server, bytes the
    client read until the proxy closed)."""
    action = data if not isinstance(data, bytes) else send(data, keep=False)
    b = backends.new(lambda req: action)
    srv = proxy_to(ptc, b, extra)
    return srv, srv.raw(REQUEST), b


def assert_502(srv, out):
    r = parse_response(out)
    assert (r.status, r.reason) == (502, "Bad Gateway")
    assert b"<title>502 Bad Gateway</title>" in r.body
    assert b"<center><h1>502 Bad Gateway</h1></center>" in r.body


OK_TAIL = b"Content-Length: 2\r\n\r\nok"


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n" + OK_TAIL,          # bare CR
    b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n" + OK_TAIL,        # NUL
    b"HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\n" + OK_TAIL,   # obs-fold
    b"HTTP/1.1 200 OK\r\nX A: b\r\n" + OK_TAIL,             # space in a name
    b"HTTP/1.1 200 OK\r\nContent-Le",                      # closed inside the head
], ids=["bare-cr", "nul", "obs-fold", "space-in-name", "closed-mid-head"])
def test_invalid_header_is_502(ptc, backends, data):
    srv, out, b = answer(ptc, backends, data)
    assert_502(srv, out)
    assert len(b.requests) == 1


@pytest.mark.portico_only
@pytest.mark.parametrize("data", [
    b"HTTP/1.1 abc OK\r\n" + OK_TAIL,
    b"HTTP/1.1 1000 Weird\r\n" + OK_TAIL,
    b"garbage\r\n\r\n",
    b"garbage line here\r\nX: y\r\n\r\nbody",
], ids=["alpha-status", "4-digit-status", "garbage", "garbage-head"])
def test_invalid_status_line_is_502(ptc, backends, data):
    # nginx passes such a response through as HTTP/0.9 (the raw bytes)
    srv, out, _ = answer(ptc, backends, data)
    assert_502(srv, out)


def test_header_longer_than_proxy_buffer_size_is_502(ptc, backends):
    data = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 2000 + b"\r\n" + OK_TAIL
    srv, out, _ = answer(ptc, backends, data, "proxy_buffer_size 1k;")
    assert_502(srv, out)
    # the same header fits a 4k buffer
    srv2, out2, _ = answer(ptc, backends, data, "proxy_buffer_size 4k;")
    r = parse_response(out2)
    assert (r.status, r.header("X-Long"), r.body) == (200, "a" * 2000, b"ok")


@pytest.mark.parametrize("action", [close(), reset()], ids=["close", "reset"])
def test_no_response_is_502(ptc, backends, action):
    srv, out, b = answer(ptc, backends, action)
    assert_502(srv, out)
    assert len(b.requests) == 1


def read_until_eof(sock, timeout=5.0):
    """(bytes, True) if the peer closed within timeout, (bytes, False) otherwise."""
    out, deadline = b"", time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out, False
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return out, False
        except ConnectionResetError:
            return out, True
        if not data:
            return out, True
        out += data


def cut_response(ptc, backends, data):
    """Backend sends data and closes; a keep-alive client reads until EOF."""
    b = backends.new(lambda req: send(data, keep=False))
    srv = proxy_to(ptc, b)
    s = srv.connect()
    s.sendall(KEEPALIVE_REQUEST)
    out, closed = read_until_eof(s)
    s.close()
    assert closed, "the proxy kept the client connection open after a truncated body"
    return out


def test_closed_mid_body_with_content_length(ptc, backends):
    out = cut_response(ptc, backends,
                       b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Length: 100\r\n" in head + b"\r\n"
    assert body == b"x" * 10            # fewer bytes than announced, then EOF
    with pytest.raises(IncompleteResponse):
        _parse_one(out, eof=False)


def test_chunked_cut_mid_chunk(ptc, backends):
    out = cut_response(ptc, backends,
                       b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"5\r\nhello\r\n10\r\n0123456")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"hello" in body
    assert not body.endswith(b"0\r\n\r\n")
    with pytest.raises(IncompleteResponse):
        _parse_one(out, eof=False)


@pytest.mark.portico_only
@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nokabc",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 20\r\n\r\n"
    b"2\r\nok\r\n0\r\n\r\n",
], ids=["two-lengths", "chunked-and-length"])
def test_conflicting_framing_is_502(ptc, backends, data):
    # nginx 1.22 uses the last Content-Length, and chunked over Content-Length
    srv, out, _ = answer(ptc, backends, data)
    assert_502(srv, out)


@pytest.mark.portico_only
@pytest.mark.parametrize("interim", [
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
], ids=["100", "103"])
def test_interim_response_before_the_final_one(ptc, backends, interim):
    # nginx takes the 1xx as the final response and sends the rest as its body
    b = backends.new(lambda req: send(interim + b"HTTP/1.1 200 OK\r\nX-Final: 1\r\n" + OK_TAIL,
                                      keep=False))
    srv = proxy_to(ptc, b)
    rest = srv.raw(REQUEST)
    while rest.startswith(b"HTTP/1.1 1"):    # interim responses the proxy forwarded
        head, _, rest = rest.partition(b"\r\n\r\n")
        assert b"Content-Length" not in head and b"Connection" not in head, head
    r = parse_response(rest)
    assert (r.status, r.header("X-Final"), r.body) == (200, "1", b"ok")
    assert (r.header("Server") or "").startswith(srv.name)
    assert r.raw == rest
