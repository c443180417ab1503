r"""Routing: server selection by Host and port, location matching, error_page, return,
add_header and the request variables usable in `return`."""

import pytest

from conftest import read_response

# --- server selection -------------------------------------------------------------------

SERVERS = r"""
server { listen 127.0.0.1:%PORT%; server_name first.test; return 200 "first"; }
server { listen 127.0.0.1:%PORT%; server_name a.test alias-a.test; return 200 "exact-a"; }
server { listen 127.0.0.1:%PORT%; server_name *.b.test; return 200 "wild-b"; }
server { listen 127.0.0.1:%PORT%; server_name exact.b.test; return 200 "exact-b"; }
server { listen 127.0.0.1:%PORT%; server_name .c.test; return 200 "suffix-c"; }
server { listen 127.0.0.1:%PORT%; server_name "~^www\d+\.d\.test$"; return 200 "regex-d"; }
server { listen 127.0.0.1:%PORT%; server_name "~\.b\.test$"; return 200 "regex-b"; }
server { listen 127.0.0.1:%PORT2%; server_name a.test; return 200 "port2-a"; }
server { listen 127.0.0.1:%PORT2%; server_name other.test; return 200 "port2-other"; }
"""


@pytest.fixture
def servers(ptc):
    return ptc.start(SERVERS, ports=2)


@pytest.mark.parametrize("host,body", [
    ("a.test", "exact-a"),
    ("alias-a.test", "exact-a"),
    ("A.Test", "exact-a"),
    ("a.test:%PORT%", "exact-a"),
    ("A.TEST.", "exact-a"),
    ("x.b.test", "wild-b"),
    ("y.x.b.test", "wild-b"),
    ("exact.b.test", "exact-b"),
    ("c.test", "suffix-c"),
    ("www.c.test", "suffix-c"),
    ("www12.d.test", "regex-d"),
    ("www.d.test", "first"),
    ("b.test", "first"),
    ("unknown.test", "first"),
])
def test_server_selection_by_host(servers, host, body):
    r = servers.get("/", host=host.replace("%PORT%", str(servers.port)))
    assert (r.status, r.body) == (200, body.encode())


def test_server_selection_without_host_uses_default(servers):
    r = servers.get("/", host=None, version="1.0")
    assert (r.status, r.body) == (200, b"first")


def test_servers_on_two_ports(servers):
    port2 = servers.ports[1]
    assert servers.get("/", host="a.test", port=port2).body == b"port2-a"
    assert servers.get("/", host="other.test", port=port2).body == b"port2-other"
    assert servers.get("/", host="unknown.test", port=port2).body == b"port2-a"
    assert servers.get("/", host="other.test").body == b"first"


def test_default_server_flag_catches_unknown_host(ptc):
    srv = ptc.start("""
server { listen 127.0.0.1:%PORT%; server_name one.test; return 200 "one"; }
server { listen 127.0.0.1:%PORT% default_server; server_name two.test; return 200 "two"; }
server { listen 127.0.0.1:%PORT%; server_name three.test; return 200 "three"; }
""")
    assert srv.get("/", host="unknown.test").body == b"two"
    assert srv.get("/", host="one.test").body == b"one"
    assert srv.get("/", host="three.test").body == b"three"


# --- location matching ----------------------------------------------------------------------

LOCATIONS = r"""
server {
    listen 127.0.0.1:%PORT%;
    location = /exact { return 200 "exact"; }
    location /exact { return 200 "prefix-exact"; }
    location ^~ /static/ { return 200 "static"; }
    location ~ \.png$ { return 200 "regex-png"; }
    location /images/ { return 200 "images"; }
    location /images/thumbs/ { return 200 "thumbs"; }
    location /images/thumbs/big/ { return 200 "thumbs-big"; }
    location ~ \.php$ { return 200 "php"; }
    location ~* \.JPG$ { return 200 "jpg-ci"; }
    location ~ \.jpg$ { return 200 "jpg-cs"; }
    location / { return 200 "root"; }
}
"""


@pytest.mark.parametrize("path,body", [
    ("/exact", "exact"),
    ("/exact?x=1", "exact"),
    ("/exact/", "prefix-exact"),
    ("/exactly", "prefix-exact"),
    ("/static/a.png", "static"),
    ("/images/a.png", "regex-png"),
    ("/images/a.gif", "images"),
    ("/images/thumbs/a.gif", "thumbs"),
    ("/images/thumbs/big/a.gif", "thumbs-big"),
    ("/images/thumbs/a.png", "regex-png"),
    ("/x.php", "php"),
    ("/x.PHP", "root"),
    ("/x.jpg", "jpg-ci"),
    ("/x.JPG", "jpg-ci"),
    ("/x.Jpg", "jpg-ci"),
    ("/other", "root"),
    ("/images/../x.php", "php"),
    ("/%73tatic/a.png", "static"),
])
def test_location_matching(ptc, path, body):
    srv = ptc.start(LOCATIONS)
    r = srv.get(path)
    assert (r.status, r.body) == (200, body.encode())


# --- error_page ----------------------------------------------------------------------------------

ERROR_PAGES = """
include mime.types;
server {
    listen 127.0.0.1:%PORT%;
    root html;
    location /fb/ { error_page 404 = @fallback; }
    location @fallback { return 200 "fallback $uri"; }
    location /custom/ { error_page 404 /404.html; }
    location /ok/ { error_page 404 =200 /ok.html; }
    location /code/ { error_page 404 =410 /404.html; }
}
"""
ERROR_FILES = {"html/404.html": "custom not found\n", "html/ok.html": "all fine\n",
               "html/fb/real.txt": "real\n"}


@pytest.fixture
def errsrv(ptc):
    return ptc.start(ERROR_PAGES, files=ERROR_FILES)


def test_error_page_named_location(errsrv):
    r = errsrv.get("/fb/missing")
    assert (r.status, r.body) == (200, b"fallback /fb/missing")
    assert errsrv.get("/fb/real.txt").body == b"real\n"


def test_error_page_custom_page(errsrv):
    r = errsrv.get("/custom/missing")
    assert (r.status, r.body) == (404, b"custom not found\n")
    assert r.header("Content-Type") == "text/html"


def test_error_page_changes_status(errsrv):
    r = errsrv.get("/ok/missing")
    assert (r.status, r.body) == (200, b"all fine\n")
    r = errsrv.get("/code/missing")
    assert (r.status, r.body) == (410, b"custom not found\n")


# --- return ------------------------------------------------------------------------------------

RETURNS = """
server {
    listen 127.0.0.1:%PORT%;
    location /moved { return 301 /new; }
    location /temp { return 302 http://x/; }
    location /text { return 200 "text $uri $args $request_method"; }
    location /gone { return 404; }
    location /drop { return 444; }
}
"""


@pytest.fixture
def retsrv(ptc):
    return ptc.start(RETURNS)


def test_return_301_relative_becomes_absolute(retsrv):
    r = retsrv.get("/moved")
    assert (r.status, r.reason) == (301, "Moved Permanently")
    assert r.header("Location") == "http://localhost:%d/new" % retsrv.port
    assert b"<center><h1>301 Moved Permanently</h1></center>" in r.body


def test_return_302_absolute(retsrv):
    r = retsrv.get("/temp")
    assert (r.status, r.reason) == (302, "Moved Temporarily")
    assert r.header("Location") == "http://x/"


def test_return_text_with_variables(retsrv):
    r = retsrv.get("/text?a=1&b=2", method="POST", body=b"")
    assert (r.status, r.body) == (200, b"text /text a=1&b=2 POST")
    assert r.header("Content-Type") == "text/plain"
    r = retsrv.get("/text")
    assert r.body == b"text /text  GET"


def test_return_404_default_page(retsrv):
    r = retsrv.get("/gone")
    assert (r.status, r.reason) == (404, "Not Found")
    assert r.header("Content-Type") == "text/html"
    assert b"<title>404 Not Found</title>" in r.body
    assert b"<center><h1>404 Not Found</h1></center>" in r.body


def test_return_444_closes_without_response(retsrv):
    s = retsrv.connect()
    s.sendall(b"GET /drop HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(3)
    try:
        data = s.recv(100)  # EOF (b"") from the server; a timeout raises and fails
    except ConnectionResetError:
        data = b""
    s.close()
    assert data == b""


# --- add_header ------------------------------------------------------------------------------

HEADERS = """
server {
    listen 127.0.0.1:%PORT%;
    add_header X-S server;
    location /ok { add_header X-A 1; add_header X-B 2 always; return 200 "ok"; }
    location /nf { add_header X-A 1; add_header X-B 2 always; return 404; }
    location /redir { add_header X-A 1; return 302 /x; }
    location /inherit { return 200 "inherit"; }
    location /own { add_header X-O own; return 200 "own"; }
    location /var { add_header X-Uri "u=$uri"; return 200 "var"; }
}
"""


def test_add_header(ptc):
    srv = ptc.start(HEADERS)
    ok = srv.get("/ok")
    assert (ok.header_all("X-A"), ok.header_all("X-B"), ok.header("X-S")) == (["1"], ["2"], None)
    nf = srv.get("/nf")
    assert nf.status == 404
    assert (nf.header("X-A"), nf.header_all("X-B")) == (None, ["2"])
    redir = srv.get("/redir")
    assert (redir.status, redir.header("X-A")) == (302, "1")
    assert srv.get("/inherit").header_all("X-S") == ["server"]
    own = srv.get("/own")
    assert (own.header("X-O"), own.header("X-S")) == ("own", None)
    assert srv.get("/var").header("X-Uri") == "u=/var"


# --- variables ---------------------------------------------------------------------------------

VAR_NAMES = [
    ("host", "$host"), ("server_name", "$server_name"), ("request_uri", "$request_uri"),
    ("uri", "$uri"), ("args", "$args"), ("arg_x", "$arg_x"), ("is_args", "$is_args"),
    ("ua", "$http_user_agent"), ("sid", "$cookie_sid"), ("remote_addr", "$remote_addr"),
    ("remote_port", "$remote_port"), ("server_port", "$server_port"),
    ("server_addr", "$server_addr"), ("scheme", "$scheme"), ("method", "$request_method"),
    ("cl", "$content_length"), ("ct", "$content_type"),
]
VARS = """
server {
    listen 127.0.0.1:%%PORT%%;
    server_name vars.test www.vars.test;
    location / { return 200 "%s"; }
}
""" % "|".join("%s=%s" % nv for nv in VAR_NAMES)


def variables(srv, request):
    s = srv.connect()
    s.sendall(request)
    resp = read_response(s)
    local_port = s.getsockname()[1]
    s.close()
    assert resp.status == 200
    return dict(kv.split("=", 1) for kv in resp.body.decode().split("|")), local_port


def test_variables(ptc):
    srv = ptc.start(VARS)
    v, local_port = variables(srv, (
        "POST /a/../b?x=1&y=%%20z HTTP/1.1\r\nHost: WWW.Vars.Test:%d\r\n"
        "User-Agent: tester/1.0\r\nCookie: a=1; sid=abc123; b=2\r\n"
        "Content-Type: text/x-test\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz"
        % srv.port).encode())
    assert v == {
        "host": "www.vars.test", "server_name": "vars.test",
        "request_uri": "/a/../b?x=1&y=%20z", "uri": "/b", "args": "x=1&y=%20z",
        "arg_x": "1", "is_args": "?", "ua": "tester/1.0", "sid": "abc123",
        "remote_addr": "127.0.0.1", "remote_port": str(local_port),
        "server_port": str(srv.port), "server_addr": "127.0.0.1", "scheme": "http",
        "method": "POST", "cl": "3", "ct": "text/x-test",
    }


def test_variables_absent_values_are_empty(ptc):
    srv = ptc.start(VARS)
    v, _ = variables(srv, b"GET /%41b HTTP/1.0\r\n\r\n")
    assert v["host"] == "vars.test"  # no Host: the server's primary name
    assert (v["uri"], v["request_uri"]) == ("/Ab", "/%41b")
    for name in ("args", "arg_x", "is_args", "ua", "sid", "cl", "ct"):
        assert v[name] == "", name
    assert v["method"] == "GET"
