"""Headers through the proxy: what the origin receives (defaults, proxy_set_header,
X-Forwarded-For, hop-by-hop removal), what the client receives (Server/Date, hidden and
passed headers, proxy_redirect, intercepted errors) and the $upstream_* variables.

Configs use @A for the backend's address (127.0.0.1:port)."""

import re

import pytest

from backend import Backends, response

pytestmark = pytest.mark.needs_module("http_proxy")

OLD_DATE = "Mon, 01 Jan 2001 00:00:00 GMT"


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, b, files=None):
    """Start the proxy with one server block on %PORT% whose body is `body`."""
    http = "server {\n    listen 127.0.0.1:%%PORT%%;\n%s\n}\n" % body
    return ptc.start(http.replace("@A", b.addr), files=files)


def names(req):
    return [k.lower() for k, _ in req.headers]


# --- request headers on the wire --------------------------------------------


def test_default_host_and_connection(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location / { proxy_pass http://@A; }", b)
    assert srv.get("/", host="client.example", headers=[("X-Custom", "kept")]).status == 200
    req = b.requests[0]
    assert req.header_all("Host") == [b.addr]           # $proxy_host, with the port
    assert req.header_all("Connection") == ["close"]
    assert req.header_all("X-Custom") == ["kept"]
    assert names(req).count("host") == 1 and names(req).count("connection") == 1


def test_forwarding_headers(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        location / {
            proxy_pass http://@A;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }""", b)
    assert srv.get("/1", host="Site.Example:8080").status == 200
    assert srv.get("/2", host="site.example",
                   headers=[("X-Forwarded-For", "203.0.113.9, 198.51.100.2")]).status == 200
    first, second = b.requests
    assert first.header_all("Host") == ["site.example"]     # $host: lower case, no port
    assert first.header_all("X-Real-IP") == ["127.0.0.1"]
    assert first.header_all("X-Forwarded-For") == ["127.0.0.1"]
    assert first.header_all("X-Forwarded-Proto") == ["http"]
    assert second.header_all("X-Forwarded-For") == ["203.0.113.9, 198.51.100.2, 127.0.0.1"]


def test_header_set_to_empty_is_not_sent(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        location / {
            proxy_pass http://@A;
            proxy_set_header X-Drop "";
            proxy_set_header Accept-Encoding "";
            proxy_set_header X-Empty-Var $http_x_missing;
        }""", b)
    r = srv.get("/", headers=[("X-Drop", "client value"), ("Accept-Encoding", "gzip"),
                              ("User-Agent", "t/1")])
    assert r.status == 200
    req = b.requests[0]
    for name in ("x-drop", "accept-encoding", "x-empty-var"):
        assert name not in names(req)
    assert req.header_all("User-Agent") == ["t/1"]


def test_hop_by_hop_request_headers_are_not_forwarded(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_http_version 1.1; }", b)
    r = srv.get("/", headers=[("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"),
                              ("TE", "trailers"), ("Upgrade", "websocket"),
                              ("X-End-To-End", "yes")])
    assert r.status == 200
    req = b.requests[0]
    assert req.header_all("Connection") == ["close"]
    for name in ("keep-alive", "te", "upgrade"):
        assert name not in names(req)
    assert req.header_all("X-End-To-End") == ["yes"]


@pytest.mark.portico_only
def test_proxy_connection_and_connection_listed_headers_are_not_forwarded(ptc, backends):
    # nginx forwards both Proxy-Connection and the headers a client names in Connection
    b = backends.new()
    srv = start(ptc, "location / { proxy_pass http://@A; }", b)
    r = srv.get("/", headers=[("Connection", "close, X-Hop, X-Other"),
                              ("Proxy-Connection", "keep-alive"), ("X-Hop", "1"),
                              ("X-Other", "2"), ("X-Kept", "3")])
    assert r.status == 200
    req = b.requests[0]
    for name in ("proxy-connection", "x-hop", "x-other"):
        assert name not in names(req)
    assert req.header_all("X-Kept") == ["3"]
    assert req.header_all("Connection") == ["close"]


# --- response headers -------------------------------------------------------


def origin_headers(req):
    return response(200, b"ok", [("Server", "origin/9.9"), ("Date", OLD_DATE),
                                 ("X-Powered-By", "PHP/5.0"), ("X-Secret", "s3cret"),
                                 ("X-Other", "visible")])


def test_server_and_date_replaced_and_hide_header(ptc, backends):
    b = backends.new(origin_headers)
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_hide_header X-Secret; }", b)
    r = srv.get("/")
    assert (r.status, r.body) == (200, b"ok")
    assert len(r.header_all("Server")) == 1 and r.header("Server").startswith(srv.name)
    assert len(r.header_all("Date")) == 1 and r.header("Date") != OLD_DATE
    assert r.header("X-Secret") is None
    assert r.header("X-Other") == "visible"


@pytest.mark.portico_only
def test_x_powered_by_hidden(ptc, backends):
    # nginx passes X-Powered-By through
    b = backends.new(origin_headers)
    srv = start(ptc, "location / { proxy_pass http://@A; }", b)
    r = srv.get("/")
    assert r.status == 200 and r.header("X-Powered-By") is None
    assert r.header("X-Other") == "visible"


def test_proxy_pass_header_server(ptc, backends):
    b = backends.new(origin_headers)
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_pass_header Server; }", b)
    r = srv.get("/")
    assert r.header_all("Server") == ["origin/9.9"]
    assert r.header("Date") != OLD_DATE


def redirect_to(location):
    return lambda req: response(302, b"", [("Location", location)])


@pytest.mark.parametrize("directive, origin_location, client_location", [
    ("", "http://@A/b/x?y=1", "http://localhost:%PORT%/a/x?y=1"),
    ("proxy_redirect default;", "http://@A/b/x", "http://localhost:%PORT%/a/x"),
    ("proxy_redirect off;", "http://@A/b/x", "http://@A/b/x"),
    ("proxy_redirect http://a/ http://b/;", "http://a/x/y", "http://b/x/y"),
    ("proxy_redirect http://a/ http://b/;", "http://c/a/x", "http://c/a/x"),
])
def test_proxy_redirect(ptc, backends, directive, origin_location, client_location):
    b = backends.new()
    b.handler = redirect_to(origin_location.replace("@A", b.addr))
    srv = start(ptc, "location /a/ { proxy_pass http://@A/b/; %s }" % directive, b)
    r = srv.get("/a/x")
    expected = srv.subst(client_location).replace("@A", b.addr)
    assert (r.status, r.header_all("Location")) == (302, [expected])


def test_intercept_errors_shows_custom_page(ptc, backends):
    b = backends.new(lambda req: response(404, b"origin's own 404 page"))
    srv = start(ptc, """
        location / { proxy_pass http://@A; proxy_intercept_errors on;
                     error_page 404 /custom.html; }
        location = /custom.html { root html; internal; }
        location /plain/ { proxy_pass http://@A; }
    """, b, files={"html/custom.html": "custom not found page\n"})
    r = srv.get("/missing")
    assert (r.status, r.body) == (404, b"custom not found page\n")
    r2 = srv.get("/plain/missing")
    assert (r2.status, r2.body) == (404, b"origin's own 404 page")


def test_upstream_variables(ptc, backends):
    b = backends.new()
    srv = ptc.start("""
        log_format up "U=$upstream_addr S=$upstream_status "
                      "T=$upstream_response_time C=$upstream_connect_time "
                      "H=$upstream_header_time";
        server {
            listen 127.0.0.1:%PORT%;
            access_log logs/up.log up;
            location / { proxy_pass http://@A;
                         add_header X-U "$upstream_addr|$upstream_status"; }
        }""".replace("@A", b.addr))
    r = srv.get("/vars")
    assert r.header("X-U") == "%s|200" % b.addr
    srv.stop()
    line = srv.access_log("up.log").strip()
    num = r"\d+\.\d{3}"
    assert re.fullmatch(r"U=%s S=200 T=%s C=%s H=%s" % (re.escape(b.addr), num, num, num),
                        line), line
