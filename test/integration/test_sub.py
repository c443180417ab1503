"""Response body substitution: sub_filter, sub_filter_once, sub_filter_types,
sub_filter_last_modified (validated against nginx), and Portico's
sub_filter_regex / sub_filter_regex_window (portico_only).

Bodies come from static files (file buffers read in pieces), `return` (memory) and
proxied origins (Content-Length, chunked, close-delimited; slow and split).
Configs use @A for the backend's address."""

import gzip
import socket
import time

import pytest

from backend import Backends, chunk, response, slow
from conftest import parse_response, read_response

pytestmark = pytest.mark.needs_module("http_sub")

HTML = {"Content-Type": "text/html"}


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, b=None, files=None, listen="", **kw):
    """One server on %PORT% with mime types; `body` goes inside server {}."""
    http = "include mime.types;\nserver {\n    listen 127.0.0.1:%%PORT%% %s;\n%s\n}\n" % (
        listen, body)
    if b is not None:
        http = http.replace("@A", b.addr)
    return ptc.start(http, files=files, **kw)


def fetch_raw(srv, path, version="1.1", method="GET", rcvbuf=None, delay=0.0, headers=""):
    """Raw bytes of one request on a fresh connection (read until close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(15)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(("%s %s HTTP/%s\r\nHost: localhost\r\nConnection: close\r\n%s\r\n"
               % (method, path, version, headers)).encode())
    if delay:
        time.sleep(delay)  # a client that reads late: the server has to wait for it
    data = b""
    while True:
        part = s.recv(65536)
        if not part:
            break
        data += part
    s.close()
    return data


# --- static files ---------------------------------------------------------------------


def test_static_html_once_case_insensitive_and_headers(ptc):
    srv = start(ptc, "location / { root html; sub_filter HELLO bye; }",
                files={"html/a.html": "say Hello hello HELLO", "html/a.txt": "hello"})
    r = srv.get("/a.html")
    assert (r.status, r.body) == (200, b"say bye hello HELLO")
    # the length changed: chunked; ranges and validators no longer describe the body
    assert r.header("Content-Length") is None and r.chunked
    for name in ("Accept-Ranges", "Last-Modified", "ETag"):
        assert r.header(name) is None, name
    # other types are left alone, with their length and validators
    t = srv.get("/a.txt")
    assert (t.body, t.header("Content-Length"), t.header("Accept-Ranges")) == (
        b"hello", "5", "bytes")
    assert t.header("ETag") and t.header("Last-Modified")


def test_once_off_replaces_every_match(ptc):
    srv = start(ptc, "location / { root html; sub_filter hello bye; sub_filter_once off; }",
                files={"html/a.html": "Hello hello HELLO hell"})
    assert srv.get("/a.html").body == b"bye bye bye hell"


def test_matches_across_file_read_pieces(ptc):
    # a large file is read in pieces: matches sit on every possible offset
    unit = b"x" * 4093 + b"<MARK>"
    text = unit * 40 + b"tail"
    srv = start(ptc, "location / { root html; sub_filter <mark> [m]; sub_filter_once off; }",
                files={"html/big.html": text})
    r = srv.get("/big.html", timeout=15)
    assert r.body == text.replace(b"<MARK>", b"[m]")


def test_range_request_gets_the_whole_substituted_file(ptc):
    srv = start(ptc, "location / { root html; sub_filter hello bye; }",
                files={"html/a.html": "say hello"})
    r = srv.get("/a.html", headers={"Range": "bytes=0-3"})
    assert (r.status, r.body, r.header("Content-Range")) == (200, b"say bye", None)


def test_head_has_no_length_and_no_body(ptc):
    srv = start(ptc, "location / { root html; sub_filter hello bye; }",
                files={"html/a.html": "say hello"})
    raw = fetch_raw(srv, "/a.html", method="HEAD")
    r = parse_response(raw, head=True)
    assert r.status == 200 and raw.endswith(b"\r\n\r\n")
    assert r.header("Content-Length") is None and r.header("Transfer-Encoding") is None


def test_http10_client_gets_a_close_delimited_body(ptc):
    srv = start(ptc, "location / { root html; sub_filter hello bye; }",
                files={"html/a.html": "say hello"})
    raw = fetch_raw(srv, "/a.html", version="1.0")
    r = parse_response(raw)
    assert (r.status, r.body) == (200, b"say bye")
    assert r.header("Content-Length") is None and r.header("Transfer-Encoding") is None


def test_last_modified_on_keeps_it_and_weakens_the_etag(ptc):
    srv = start(ptc, "location / { root html; sub_filter hello bye; "
                "sub_filter_last_modified on; }", files={"html/a.html": "say hello"})
    r = srv.get("/a.html")
    assert r.body == b"say bye"
    assert r.header("Last-Modified")
    assert r.header("ETag").startswith('W/"')


def test_types(ptc):
    files = {"html/a.html": "hello", "html/a.txt": "hello", "html/a.css": "hello"}
    srv = start(ptc, """
        location /plain/ { alias html/; sub_filter hello bye; sub_filter_types text/plain; }
        location /any/ { alias html/; sub_filter hello bye; sub_filter_types *; }
        location / { root html; sub_filter hello bye; }
    """, files=files)
    got = {p: srv.get(p).body for p in ("/a.html", "/a.txt", "/plain/a.html", "/plain/a.txt",
                                        "/plain/a.css", "/any/a.css")}
    assert got == {"/a.html": b"bye", "/a.txt": b"hello", "/plain/a.html": b"bye",
                   "/plain/a.txt": b"bye", "/plain/a.css": b"hello", "/any/a.css": b"bye"}


def test_variables_in_search_and_replacement(ptc):
    srv = start(ptc, """
        location / { root html; sub_filter $arg_find "[$host$uri]"; sub_filter_once off; }
    """, files={"html/a.html": "one two one"})
    assert srv.get("/a.html?find=ONE").body == b"[localhost/a.html] two [localhost/a.html]"
    # a search variable that comes out empty searches nothing
    assert srv.get("/a.html").body == b"one two one"


def test_a_level_without_sub_filter_inherits(ptc):
    srv = start(ptc, """
        sub_filter hello server-level;
        location /own/ { alias html/; sub_filter world own-level; }
        location / { root html; }
    """, files={"html/a.html": "hello world"})
    assert srv.get("/a.html").body == b"server-level world"
    assert srv.get("/own/a.html").body == b"hello own-level"


def test_return_body_is_substituted(ptc):
    srv = start(ptc, 'location / { default_type text/html; sub_filter hello bye; '
                'return 200 "hello there"; }')
    assert srv.get("/").body == b"bye there"


def test_empty_body_keeps_its_length(ptc):
    srv = start(ptc, "location / { root html; sub_filter hello bye; }",
                files={"html/e.html": ""})
    r = srv.get("/e.html")
    assert (r.status, r.body, r.header("Content-Length")) == (200, b"", "0")


# --- proxied responses ------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_proxied_framings(ptc, backends, framing):
    text = b"<p>hello</p>" * 3

    def handler(req):
        if framing == "chunked":
            return response(200, [text[:5], text[5:17], text[17:]], headers=HTML, chunked=True)
        if framing == "close":
            return response(200, text, headers=HTML, length=False)
        return response(200, text, headers=HTML)
    b = backends.new(handler)
    srv = start(ptc, "location / { proxy_pass http://@A; sub_filter hello bye; "
                "sub_filter_once off; }", b)
    s = srv.connect()
    s.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
    r = read_response(s)
    assert (r.status, r.body) == (200, b"<p>bye</p>" * 3)
    assert r.chunked and r.header("Content-Length") is None
    # the framing was right: the connection serves another request
    s.sendall(b"GET /y HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert read_response(s).body == b"<p>bye</p>" * 3
    s.close()


def test_match_split_across_upstream_writes(ptc, backends):
    parts = [b"<a>hel", b"lo wor", b"ld hell", b"o</a>"]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(
        b"".join(parts))
    pieces = [head + parts[0]] + parts[1:]
    b = backends.new(lambda req: slow(pieces, delay=0.15))
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_buffering off; "
                "sub_filter hello bye; sub_filter_once off; }", b)
    assert srv.get("/").body == b"<a>bye world bye</a>"


def test_pairs_leftmost_then_first_listed(ptc, backends):
    b = backends.new(lambda req: response(200, b"abcd aab aaab xabcx", headers=HTML))
    srv = start(ptc, """
        location /1/ { proxy_pass http://@A/; sub_filter_once off;
                       sub_filter abc X; sub_filter ab Y; sub_filter aab Z; }
        location /2/ { proxy_pass http://@A/; sub_filter_once off;
                       sub_filter ab Y; sub_filter abc X; }
        location /3/ { proxy_pass http://@A/; sub_filter a 1; sub_filter b 2; }
    """, b)
    assert srv.get("/1/").body == b"Xd Z aZ xXx"
    assert srv.get("/2/").body == b"Ycd aY aaY xYcx"
    # once: each pair is replaced once
    assert srv.get("/3/").body == b"12cd aab aaab xabcx"


def test_proxied_validators_and_error_statuses(ptc, backends):
    def handler(req):
        st = 404 if req.path == "/missing" else 200
        return response(st, b"hello", headers={
            "Content-Type": "text/html; charset=utf-8", "ETag": '"v1"',
            "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})
    b = backends.new(handler)
    srv = start(ptc, """
        location /off/ { proxy_pass http://@A/; sub_filter hello bye; }
        location /on/ { proxy_pass http://@A/; sub_filter hello bye;
                        sub_filter_last_modified on; }
    """, b)
    off = srv.get("/off/x")
    assert (off.body, off.header("ETag"), off.header("Last-Modified")) == (b"bye", None, None)
    on = srv.get("/on/x")
    assert (on.body, on.header("ETag")) == (b"bye", 'W/"v1"')
    assert on.header("Last-Modified") == "Mon, 01 Jan 2024 00:00:00 GMT"
    # any status with a body is substituted, as in nginx
    miss = srv.get("/off/missing")
    assert (miss.status, miss.body) == (404, b"bye")


def test_not_modified_and_head_pass_without_body(ptc, backends):
    def handler(req):
        if req.path == "/nm":
            return response(304, b"", headers={"ETag": '"v1"'}, length=False)
        return response(200, b"hello", headers=HTML)
    b = backends.new(handler)
    srv = start(ptc, "location / { proxy_pass http://@A; sub_filter hello bye; }", b)
    s = srv.connect()
    s.sendall(b"GET /nm HTTP/1.1\r\nHost: localhost\r\n\r\n")
    r1 = read_response(s)
    s.sendall(b"HEAD /h HTTP/1.1\r\nHost: localhost\r\n\r\n")
    r2 = read_response(s, head=True)
    s.sendall(b"GET /g HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    r3 = read_response(s)
    s.close()
    assert (r1.status, r1.body) == (304, b"")
    assert (r2.status, r2.header("Content-Length")) == (200, None)
    assert (r3.status, r3.body) == (200, b"bye")


def test_streams_while_the_origin_is_still_sending(ptc, backends):
    first = b"<p>hello</p>" + b"." * 3000
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = [head + chunk(first), chunk(b"<p>later hello</p>" + b"," * 3000), b"0\r\n\r\n"]
    b = backends.new(lambda req: slow(pieces, delay=1.5))
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_buffering off; "
                "sub_filter hello bye; sub_filter_once off; }", b)
    s = srv.connect()
    t0 = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    s.settimeout(10)
    got = b""
    while b"<p>bye</p>" + b"." * 100 not in got:
        data = s.recv(65536)
        assert data, "closed early: %r" % got[-200:]
        got += data
    first_at = time.monotonic() - t0
    while True:
        data = s.recv(65536)
        if not data:
            break
        got += data
    s.close()
    assert first_at < 1.2, "the first part took %.2fs" % first_at
    r = parse_response(got)
    assert r.body == b"<p>bye</p>" + b"." * 3000 + b"<p>later bye</p>" + b"," * 3000


@pytest.mark.parametrize("where", ["static", "proxy", "proxy_unbuffered", "proxy_no_spool"])
def test_large_body_to_a_slow_client(ptc, backends, where):
    # the filter's output waits for the client: input waits too (a spool file, a
    # paused origin), and every byte still arrives in order
    unit = b"<li>hello item</li>\n" * 50 + b"x" * 3000
    text = unit * 300  # about 1.2 MB
    b = backends.new(lambda req: response(200, text, headers=HTML))
    loc = {"static": "root html;",
           "proxy": "proxy_pass http://@A; proxy_temp_path %PREFIX%/proxy_temp;",
           "proxy_unbuffered": "proxy_pass http://@A; proxy_buffering off;",
           "proxy_no_spool": "proxy_pass http://@A; proxy_max_temp_file_size 0;"}[where]
    srv = start(ptc, "location / { %s sub_filter hello bye; sub_filter_once off; }" % loc,
                b, files={"html/big.html": text}, listen="sndbuf=8k")
    raw = fetch_raw(srv, "/big.html", rcvbuf=4096, delay=1.0)
    assert parse_response(raw).body == text.replace(b"hello", b"bye")


# --- Portico: encoded responses, Accept-Ranges ---------------------------------------------


@pytest.mark.portico_only
def test_encoded_response_is_left_alone_byte_for_byte(ptc, backends):
    gz = gzip.compress(b"<p>hello hello</p>")
    b = backends.new(lambda req: response(200, gz, headers={
        "Content-Type": "text/html", "Content-Encoding": "gzip", "ETag": '"g"'}))
    srv = start(ptc, "location / { proxy_pass http://@A; sub_filter hello bye; "
                "sub_filter_once off; }", b)
    r = srv.get("/")
    assert r.body == gz
    assert (r.header("Content-Length"), r.header("ETag")) == (str(len(gz)), '"g"')


@pytest.mark.portico_only
def test_accept_ranges_from_the_origin_is_dropped(ptc, backends):
    b = backends.new(lambda req: response(200, b"hello", headers={
        "Content-Type": "text/html", "Accept-Ranges": "bytes"}))
    srv = start(ptc, "location / { proxy_pass http://@A; sub_filter hello bye; }", b)
    r = srv.get("/")
    assert (r.body, r.header("Accept-Ranges")) == (b"bye", None)


# --- Portico: sub_filter_regex -----------------------------------------------------------

CARD = r"\b(\d{4})[ -]?\d{4}[ -]?\d{4}[ -]?(\d{4})\b"


@pytest.mark.portico_only
def test_regex_masks_card_numbers_split_anywhere(ptc, backends):
    text = b"<td>4111 1111 1111 1234</td><td>5500-0000-0000-0004</td><td>12345</td>"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    cuts = [0, 9, 14, 30, 44, len(text)]
    pieces = [head] + [chunk(text[a:b]) for a, b in zip(cuts, cuts[1:])] + [b"0\r\n\r\n"]
    b = backends.new(lambda req: slow(pieces, delay=0.1))
    srv = start(ptc, "location / { proxy_pass http://@A; proxy_buffering off; "
                "sub_filter_regex '%s' '$1-XXXX-XXXX-$2'; }" % CARD, b)
    assert srv.get("/").body == (b"<td>4111-XXXX-XXXX-1234</td><td>5500-XXXX-XXXX-0004</td>"
                                 b"<td>12345</td>")


@pytest.mark.portico_only
def test_regex_rewrites_internal_links_with_named_groups_and_variables(ptc):
    page = ('<a href="http://app.internal:8080/a">x</a> <img src="http://APP.INTERNAL/i.png">'
            ' http://app.internal.example.com/')
    srv = start(ptc, r"""
        location / { root html;
            sub_filter_regex '(?i)http://app\.internal(?<port>:\d+)?(?=/)' 'https://$host${port}';
        }
    """, files={"html/p.html": page})
    assert srv.get("/p.html").body.decode() == (
        '<a href="https://localhost:8080/a">x</a> <img src="https://localhost/i.png">'
        ' http://app.internal.example.com/')


@pytest.mark.portico_only
def test_strings_then_regex_and_once_applies_to_strings_only(ptc):
    srv = start(ptc, r"""
        location / { root html; sub_filter cat dog; sub_filter_regex 'o+' '$0$0'; }
    """, files={"html/a.html": "cat cat moo"})
    assert srv.get("/a.html").body == b"doog cat moooo"


@pytest.mark.portico_only
def test_regex_window_bounds_a_match(ptc):
    srv = start(ptc, r"""
        location / { root html; sub_filter_regex '<(\w+)>' '[$1]'; sub_filter_regex_window 6; }
    """, files={"html/a.html": "<abcd> <abcde> <a<b>"})
    assert srv.get("/a.html").body == b"[abcd] <abcde> <a[b]"


@pytest.mark.portico_only
@pytest.mark.parametrize("directive, message", [
    ("sub_filter_regex 'a(b' x;", "pcre2_compile() failed: missing closing parenthesis"),
    ("sub_filter_regex '(a)' '$2';", '"$2" refers to no group of the regex "(a)"'),
    ("sub_filter_regex '(?<n>a)' '${m}';", 'unknown "m" variable'),
    ("sub_filter_regex_window 0;", 'value must be between 1 and 1048576'),
])
def test_regex_config_errors(ptc, directive, message):
    srv = ptc.prepare("server { listen 127.0.0.1:%%PORT%%; location / { %s } }" % directive)
    r = srv.cli("-t")
    assert r.returncode != 0
    assert message in r.stderr and "test.conf:" in r.stderr, r.stderr


def test_empty_search_pattern_is_a_config_error(ptc):
    srv = ptc.prepare('server { listen 127.0.0.1:%PORT%; location / { sub_filter "" x; } }')
    r = srv.cli("-t")
    assert r.returncode != 0 and "empty search pattern" in r.stderr, r.stderr
