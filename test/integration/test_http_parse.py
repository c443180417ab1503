"""Request parsing: malformed requests get 400 (or 505/501) and a closed connection;
lenient-but-safe inputs (bare LF, leading empty lines, absolute-form) are served."""

import socket
import time

import pytest

from conftest import parse_response

CONF = """
server {
    listen 127.0.0.1:%PORT%;
    location / { return 200 "ok $request_method $uri"; }
    location /smuggled { return 200 "SMUGGLED"; }
}
"""

BAD_REQUEST_H1 = b"<center><h1>400 Bad Request</h1></center>"


def exchange(srv, data, timeout=5.0):
    """Send data on a fresh connection and read until the server closes it.

    Returns (bytes read, closed): closed is False when the timeout passed first.
    """
    s = srv.connect()
    out = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out, False
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
    finally:
        s.close()


def rejected(srv, data, status=400):
    """data is answered with exactly one `status` response, then the connection closes."""
    out, closed = exchange(srv, data)
    assert closed, "connection not closed after the error; got %r" % out[:300]
    assert out.count(b"HTTP/1.1 ") == 1, out
    resp = parse_response(out)
    assert resp.status == status, out[:300]
    assert resp.header("Connection") == "close"
    return resp


def served(srv, data):
    """data (with Connection: close) is answered 200; returns the response."""
    out, closed = exchange(srv, data)
    assert closed, out[:300]
    resp = parse_response(out)
    assert resp.status == 200, out[:300]
    return resp


@pytest.fixture
def srv(ptc):
    return ptc.start(CONF)


# (id, request bytes) answered 400 by nginx and Portico alike
BAD_REQUESTS = [
    ("bare-cr-in-request-line", b"GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("bare-cr-after-version", b"GET / HTTP/1.1\rX\r\nHost: x\r\n\r\n"),
    ("bare-cr-in-header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
    ("nul-in-target", b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("nul-in-header-value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  continued\r\n\r\n"),
    ("space-before-colon-host", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
    ("space-before-colon-other", b"GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n"),
    ("content-length-twice-different",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    ("content-length-twice-same",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab"),
    ("content-length-garbage", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"),
    ("content-length-negative", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
    ("transfer-encoding-http10",
     b"POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("transfer-encoding-and-content-length",
     b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
     b"0\r\n\r\n"),
    ("http11-without-host", b"GET / HTTP/1.1\r\n\r\n"),
    ("lowercase-version", b"GET / http/1.1\r\nHost: x\r\n\r\n"),
    ("version-without-minor", b"GET / HTTP/1\r\nHost: x\r\n\r\n"),
    ("empty-header-name", b"GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n"),
]


@pytest.mark.parametrize("data", [d for _, d in BAD_REQUESTS], ids=[i for i, _ in BAD_REQUESTS])
def test_malformed_request_is_400_and_closed(srv, data):
    rejected(srv, data)


# header bytes nginx 1.22 tolerates (it ignores invalid names, passes CTLs) but Portico
# rejects per RFC 9110 §5.5/§5.6.2
STRICT_REQUESTS = [
    ("ctl-in-header-value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"),
    ("del-in-header-value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n"),
    ("paren-in-header-name", b"GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n"),
    ("quote-in-header-name", b"GET / HTTP/1.1\r\nHost: x\r\nX\"A: 1\r\n\r\n"),
]


@pytest.mark.portico_only
@pytest.mark.parametrize("data", [d for _, d in STRICT_REQUESTS],
                         ids=[i for i, _ in STRICT_REQUESTS])
def test_strict_header_syntax_is_400_and_closed(srv, data):
    rejected(srv, data)


def test_error_page_body(srv):
    resp = rejected(srv, b"GET / HTTP/1.1\r\nHost : x\r\n\r\n")
    assert resp.reason == "Bad Request"
    assert resp.header("Content-Type") == "text/html"
    assert BAD_REQUEST_H1 in resp.body
    assert b"<title>400 Bad Request</title>" in resp.body
    assert int(resp.header("Content-Length")) == len(resp.body)


@pytest.mark.parametrize("coding", ["gzip", "chunked, gzip", "identity", "gzip, chunked"])
def test_unsupported_transfer_encoding(srv, coding):
    """nginx 1.22 answers 501 Not Implemented; Portico answers 400 (the coding chain
    is not one it can frame the body with, RFC 9112 §6.3)."""
    req = ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %s\r\n\r\n0\r\n\r\n"
           % coding).encode()
    rejected(srv, req, status=501 if srv.name == "nginx" else 400)


CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
BAD_CHUNKS = [
    ("non-hex-size", b"zz\r\nab\r\n0\r\n\r\n"),
    ("negative-size", b"-1\r\nab\r\n0\r\n\r\n"),
    ("overflowing-size", b"10000000000000000\r\na\r\n0\r\n\r\n"),
    ("empty-size", b"\r\nab\r\n0\r\n\r\n"),
    ("no-crlf-after-data", b"2\r\nabXY0\r\n\r\n"),
    ("data-longer-than-size", b"2\r\nabc\r\n0\r\n\r\n"),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_CHUNKS], ids=[i for i, _ in BAD_CHUNKS])
def test_invalid_chunked_body_is_400(srv, body):
    rejected(srv, CHUNKED_HEAD + body)


@pytest.mark.portico_only
def test_chunk_size_of_17_hex_digits_is_400(srv):
    """nginx only checks the value (leading zeros pass); Portico limits sizes to 16 digits."""
    rejected(srv, CHUNKED_HEAD + b"00000000000000001\r\na\r\n0\r\n\r\n")


def test_http2_version_is_505(srv):
    resp = rejected(srv, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", status=505)
    assert resp.reason == "HTTP Version Not Supported"


def test_http10_without_host_is_served(srv):
    out, closed = exchange(srv, b"GET /v10 HTTP/1.0\r\n\r\n")
    assert closed
    resp = parse_response(out)
    assert (resp.status, resp.body) == (200, b"ok GET /v10")


def test_bare_lf_line_endings_are_accepted(srv):
    resp = served(srv, b"GET /lf HTTP/1.1\nHost: x\nConnection: close\n\n")
    assert resp.body == b"ok GET /lf"


@pytest.mark.parametrize("prefix", [b"\r\n", b"\r\n\r\n", b"\n\n"], ids=["crlf", "2crlf", "2lf"])
def test_leading_empty_lines_are_skipped(srv, prefix):
    resp = served(srv, prefix + b"GET /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp.body == b"ok GET /lead"


def test_absolute_form_target(srv):
    resp = served(srv, b"GET http://localhost/x?y=1 HTTP/1.1\r\nHost: other\r\n"
                       b"Connection: close\r\n\r\n")
    assert resp.body == b"ok GET /x"


def test_absolute_form_without_path_is_root(srv):
    resp = served(srv, b"GET http://localhost HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp.body == b"ok GET /"


SMUGGLE_BODY = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(SMUGGLE_BODY),
], ids=["cl-first", "te-first", "cl-covers-all"])
def test_cl_te_smuggling_never_yields_two_responses(srv, framing):
    req = b"POST / HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n" + SMUGGLE_BODY
    out, closed = exchange(srv, req)
    assert closed
    assert out.count(b"HTTP/1.1 ") == 1, out
    assert b"SMUGGLED" not in out
    assert parse_response(out).status == 400
