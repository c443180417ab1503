"""proxy_pass: how the URI is passed (nginx's rules), upstream groups, the HTTP version
used towards the origin, and response framing (length, chunked, close-delimited, HEAD,
204/304, unbuffered streaming, a large response through small buffers).

Configs use @A for the backend's address (127.0.0.1:port)."""

import time

import pytest

from backend import Backends, chunk, response, send, slow
from conftest import read_response

pytestmark = pytest.mark.needs_module("http_proxy")


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, b, **kw):
    """Start the proxy with one server block on %PORT% whose body is `body`."""
    http = "server {\n    listen 127.0.0.1:%%PORT%%;\n%s\n}\n" % body
    return ptc.start(http.replace("@A", b.addr), **kw)


def keepalive_get(sock, path, head=False):
    method = "HEAD" if head else "GET"
    sock.sendall(("%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % (method, path)).encode())
    return read_response(sock, head=head)


# --- URI rules --------------------------------------------------------------


@pytest.mark.parametrize("pass_to, request_uri, expected", [
    # no URI part: the client's request URI goes through unchanged
    ("http://@A", "/a/x/y?k=v&z=%2F", "/a/x/y?k=v&z=%2F"),
    # a URI part replaces the part of the URI that matched the location
    ("http://@A/b/", "/a/x/y?k=v&z=%2F", "/b/x/y?k=v&z=%2F"),
    ("http://@A/", "/a/x/y?k=v", "/x/y?k=v"),
    ("http://@A/b/", "/a/", "/b/"),
])
def test_prefix_location_uri_rules(ptc, backends, pass_to, request_uri, expected):
    b = backends.new()
    srv = start(ptc, "location /a/ { proxy_pass %s; }" % pass_to, b)
    r = srv.get(request_uri)
    assert (r.status, r.header("X-Backend")) == (200, b.name)
    assert [q.target for q in b.requests] == [expected]
    assert r.body == ("%s GET %s" % (b.name, expected)).encode()


def test_regex_location_without_uri_passes_request_uri(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location ~ ^/r/(.*)$ { proxy_pass http://@A; }", b)
    assert srv.get("/r/deep/x.php?q=1").status == 200
    assert b.targets == ["/r/deep/x.php?q=1"]


def test_variables_in_proxy_pass(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location /v/ { proxy_pass http://@A/base$request_uri; }", b)
    assert srv.get("/v/p?x=1&y=2").status == 200
    assert b.targets == ["/base/v/p?x=1&y=2"]
    assert b.requests[0].header("Host") == b.addr


def test_query_string_passed_through_with_rewritten_uri(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location /q { proxy_pass http://@A/new; }", b)
    assert srv.get("/q?a=1&a=2&empty=&enc=%26%3D").status == 200
    assert srv.get("/q").status == 200
    assert b.targets == ["/new?a=1&a=2&empty=&enc=%26%3D", "/new"]


def test_upstream_group_by_name(ptc, backends):
    b = backends.new()
    srv = ptc.start("""
        upstream up { server %s; }
        server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://up; } }
    """ % b.addr)
    r = srv.get("/g/h?i=j")
    assert (r.status, r.body) == (200, ("%s GET /g/h?i=j" % b.name).encode())
    assert b.requests[0].header("Host") == "up"


# --- HTTP version towards the origin ------------------------------------------


@pytest.mark.parametrize("directive, version", [
    ("", "HTTP/1.0"),
    ("proxy_http_version 1.0;", "HTTP/1.0"),
    ("proxy_http_version 1.1;", "HTTP/1.1"),
])
def test_proxy_http_version_on_the_wire(ptc, backends, directive, version):
    b = backends.new()
    srv = start(ptc, "location / { proxy_pass http://@A; %s }" % directive, b)
    assert srv.get("/ver").status == 200
    req = b.requests[0]
    assert req.raw.startswith(("GET /ver %s\r\n" % version).encode())
    assert req.header_all("Connection") == ["close"]
    assert len(b.connections) == 1


# --- response framing -------------------------------------------------------


@pytest.mark.parametrize("kind", ["length", "chunked", "close"])
def test_response_framing(ptc, backends, kind):
    body = b"".join(b"line %04d of the body\n" % i for i in range(500))
    if kind == "length":
        answer = response(200, body)
    elif kind == "chunked":
        answer = response(200, [body[:7], body[7:5000], body[5000:]], chunked=True)
    else:
        answer = send(response(200, body, length=False), keep=False)
    b = backends.new(lambda req: answer)
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_http_version 1.1; }", b)
    s = srv.connect()
    r1 = keepalive_get(s, "/one")
    assert (r1.status, r1.body) == (200, body)
    # the client connection is still in sync: a second request works
    s.sendall(b"GET /two HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    r2 = read_response(s)
    s.close()
    assert (r2.status, r2.body) == (200, body)
    assert b.targets == ["/one", "/two"]


def test_head_has_no_body(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location / { proxy_pass http://@A; }", b)
    s = srv.connect()
    r1 = keepalive_get(s, "/h", head=True)
    r2 = keepalive_get(s, "/after")
    s.close()
    assert (r1.status, r1.body, r1.header("X-Backend")) == (200, b"", b.name)
    assert b.requests[0].method == "HEAD"
    # had the proxy sent a body after the HEAD response, r2 would start with it
    assert (r2.status, r2.body) == (200, ("%s GET /after" % b.name).encode())


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(ptc, backends, status):
    def handler(req):
        if req.path == "/empty":
            return response(status, length=False, headers=[("ETag", '"e1"')])
        return None
    b = backends.new(handler)
    srv = start(ptc, "location / { proxy_pass http://@A; }", b)
    s = srv.connect()
    r1 = keepalive_get(s, "/empty")
    r2 = keepalive_get(s, "/after")
    s.close()
    assert (r1.status, r1.body, r1.header("ETag")) == (status, b"", '"e1"')
    assert r1.header("Transfer-Encoding") is None
    assert (r2.status, r2.body) == (200, ("%s GET /after" % b.name).encode())


def test_buffering_off_streams_before_the_backend_finishes(ptc, backends):
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = [head + chunk(b"first-part;"), chunk(b"second-part"), b"0\r\n\r\n"]
    b = backends.new(lambda req: slow(pieces, delay=1.0))
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_buffering off; }", b)
    s = srv.connect()
    t0 = time.monotonic()
    s.sendall(b"GET /stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    got = b""
    s.settimeout(5)
    while b"first-part;" not in got:
        data = s.recv(65536)
        assert data, "closed before the first part: %r" % got
        got += data
    first_at = time.monotonic() - t0
    while True:
        data = s.recv(65536)
        if not data:
            break
        got += data
    s.close()
    assert first_at < 0.8, "first part arrived after %.2fs" % first_at
    assert b"second-part" in got and time.monotonic() - t0 >= 0.9


def test_large_response_through_small_buffers(ptc, backends):
    body = bytes(range(256)) * 4096     # 1 MiB
    b = backends.new(lambda req: response(200, body))
    srv = start(ptc, """
        proxy_buffers 4 4k;
        proxy_buffer_size 4k;
        proxy_temp_path %PREFIX%/proxy_temp;
        location / { proxy_pass http://@A; }
    """, b)
    r = srv.get("/big", timeout=15)
    assert (r.status, len(r.body)) == (200, len(body))
    assert r.body == body
    # and a client that starts reading late still gets every byte
    s = srv.connect()
    s.sendall(b"GET /big2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    time.sleep(0.5)
    r2 = read_response(s, timeout=15)
    s.close()
    assert r2.body == body
