"""Persistent connections: HTTP/1.1 keep-alive, pipelining, HTTP/1.0 keep-alive,
Connection: close, and a chunked request body followed by a pipelined request."""

import socket
import time

import pytest

from conftest import read_response

CONF = """
server {
    listen 127.0.0.1:%PORT%;
    location / { return 200 "$request_method $uri $args"; }
}
"""


@pytest.fixture
def srv(ptc):
    return ptc.start(CONF)


def closed_within(sock, timeout=3.0):
    """True if the peer closes sock (EOF or reset) within timeout with no further bytes."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        assert data == b"", "unexpected bytes after the response: %r" % data
        return True


def still_open(sock, wait=0.5):
    """True if nothing arrives and the connection is not closed within `wait` seconds."""
    sock.settimeout(wait)
    try:
        sock.recv(4096)
    except socket.timeout:
        return True
    except ConnectionResetError:
        return False
    return False  # unexpected bytes, or EOF


def test_http11_keepalive_two_requests(srv):
    s = srv.connect()
    s.sendall(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
    r1 = read_response(s)
    assert (r1.status, r1.body, r1.header("Connection")) == (200, b"GET /one ", "keep-alive")
    s.sendall(b"GET /two?a=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    r2 = read_response(s)
    assert (r2.status, r2.body, r2.header("Connection")) == (200, b"GET /two a=1", "keep-alive")
    assert still_open(s)
    s.close()


def test_pipelined_requests_answered_in_order(srv):
    s = srv.connect()
    s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
              b"HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r1 = read_response(s)
    r2 = read_response(s, head=True)
    r3 = read_response(s)
    assert (r1.status, r1.body) == (200, b"GET /a ")
    assert (r2.status, r2.header("Content-Length")) == (200, str(len(b"HEAD /b ")))
    assert (r3.status, r3.body, r3.header("Connection")) == (200, b"GET /c ", "close")
    assert closed_within(s)
    s.close()


def test_http10_without_keepalive_is_closed(srv):
    s = srv.connect()
    s.sendall(b"GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
    r = read_response(s)
    assert r.version == "HTTP/1.1"
    assert (r.status, r.body, r.header("Connection")) == (200, b"GET /old ", "close")
    assert closed_within(s)
    s.close()


def test_http10_with_keepalive_stays_open(srv):
    s = srv.connect()
    for path in (b"/k1", b"/k2"):
        s.sendall(b"GET %s HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n" % path)
        r = read_response(s)
        assert (r.status, r.body, r.header("Connection")) == (200, b"GET %s " % path,
                                                              "keep-alive")
        assert r.header("Content-Length") == str(len(r.body))
    assert still_open(s)
    s.close()


@pytest.mark.parametrize("value", ["close", "Close", "keep-alive, close"])
def test_connection_close_is_honoured(srv, value):
    s = srv.connect()
    s.sendall(b"GET /bye HTTP/1.1\r\nHost: x\r\nConnection: %s\r\n\r\n"
              b"GET /never HTTP/1.1\r\nHost: x\r\n\r\n" % value.encode())
    r = read_response(s)
    assert (r.status, r.body, r.header("Connection")) == (200, b"GET /bye ", "close")
    assert closed_within(s)
    s.close()


@pytest.mark.needs_module("http_proxy")
def test_chunked_body_then_pipelined_request(ptc):
    srv = ptc.start("""
server {
    listen 127.0.0.1:%PORT2%;
    location / { return 200 "backend $request_method $uri $content_length"; }
}
server {
    listen 127.0.0.1:%PORT%;
    location /up { proxy_pass http://127.0.0.1:%PORT2%; }
    location / { return 200 "$request_method $uri"; }
}
""", ports=2)
    s = srv.connect()
    s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;name=value\r\nhello\r\n"
              b"1\r\n \r\n"
              b"5\r\nworld\r\n"
              b"0\r\nX-Trailer: t\r\n\r\n"
              b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    r1 = read_response(s)
    assert (r1.status, r1.body) == (200, b"backend POST /up 11")
    r2 = read_response(s)
    assert (r2.status, r2.body) == (200, b"GET /next")
    s.close()


def test_discarded_chunked_body_then_pipelined_request(srv):
    """A body the location does not read is still framed correctly (discarded)."""
    s = srv.connect()
    s.sendall(b"POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3;ext\r\nabc\r\n"
              b"4\r\ndefg\r\n"
              b"0\r\nX-T: 1\r\n\r\n"
              b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
    r1 = read_response(s)
    r2 = read_response(s)
    assert (r1.status, r1.body) == (200, b"POST /first ")
    assert (r2.status, r2.body) == (200, b"GET /second ")
    s.close()


def test_content_length_body_then_pipelined_request(srv):
    """A request-looking body is skipped by its Content-Length, never answered."""
    body = b"GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n"
    s = srv.connect()
    s.sendall(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
              + body + b"GET /q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r1 = read_response(s)
    r2 = read_response(s)
    assert (r1.status, r1.body) == (200, b"POST /p ")
    assert (r2.status, r2.body) == (200, b"GET /q ")
    assert closed_within(s)
    s.close()
