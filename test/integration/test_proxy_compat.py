"""nginx proxy directives around the request and the response: proxy_set_body,
proxy_pass_request_body/headers, proxy_ignore_headers, proxy_cookie_*, proxy_bind,
proxy_force_ranges, proxy_limit_rate, $upstream_cookie_NAME."""
import time

import pytest

from backend import Backends, response, send

pytestmark = pytest.mark.needs_module("http_proxy")


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, b, loc="", http="", locations=""):
    return ptc.start(http + "server { listen 127.0.0.1:%%PORT%%; location / { "
                     "proxy_pass http://%s; %s } %s }" % (b.addr, loc, locations))


def answer(resp):
    return lambda req: send(resp, keep=False)


# ---- item 2: the request body and headers -----------------------------------


def test_set_body_replaces_the_body(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, 'proxy_set_body "name=$arg_n&v=$http_x_v";')
    r = srv.get("/?n=x", method="POST", headers={"X-V": "y"}, body=b"abc")
    assert r.status == 200
    req = b.requests[0]
    assert req.body == b"name=x&v=y"
    assert req.header("Content-Length") == str(len(req.body))


def test_set_body_on_a_request_without_body(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_set_body hello;")
    assert srv.get("/").status == 200
    assert b.requests[0].body == b"hello"
    assert b.requests[0].header("Content-Length") == "5"


def test_set_body_with_unbuffered_chunked_request(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_set_body fixed; proxy_request_buffering off;")
    r = srv.get("/", method="POST", headers={"Transfer-Encoding": "chunked"},
                body=b"3\r\nabc\r\n0\r\n\r\n")
    assert r.status == 200
    req = b.requests[0]
    assert req.body == b"fixed" and req.header("Transfer-Encoding") is None


@pytest.mark.portico_only  # nginx forwards the client's Content-Length (configs add
# proxy_set_header Content-Length ""); Portico drops it with the body
def test_pass_request_body_off(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_pass_request_body off;")
    assert srv.get("/", method="POST", body=b"secret").status == 200
    req = b.requests[0]
    assert req.body == b"" and req.header("Content-Length") is None


def test_pass_request_body_off_auth_request_style(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, 'proxy_pass_request_body off; proxy_set_header Content-Length "";')
    assert srv.get("/", method="POST", body=b"secret").status == 200
    req = b.requests[0]
    assert req.body == b"" and req.header("Content-Length") is None


def test_pass_request_headers_off(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_pass_request_headers off; proxy_set_header X-Kept yes;")
    assert srv.get("/", headers={"X-Client": "1"}).status == 200
    req = b.requests[0]
    assert req.header("X-Client") is None and req.header("X-Kept") == "yes"


# ---- item 3: proxy_ignore_headers, X-Accel-Buffering, X-Accel-Redirect ------


def first_piece_time(srv, path="/"):
    """Seconds until the first body byte reached the client, and the full body."""
    s = srv.connect()
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    start, data, first = time.monotonic(), b"", None
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if first is None and b"part1" in data:
            first = time.monotonic() - start
    s.close()
    return first, data


def slow_origin(extra=""):
    from backend import slow
    head = ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n%sConnection: close\r\n\r\n" % extra)
    return lambda req: slow([head.encode() + b"part1", b"part2"], delay=1.0)


def test_x_accel_buffering_no_streams_the_response(ptc, backends):
    b = backends.new(slow_origin("X-Accel-Buffering: no\r\n"))
    srv = start(ptc, b)
    first, data = first_piece_time(srv)
    assert first is not None and first < 0.8, first
    assert data.endswith(b"part1part2") and b"X-Accel-Buffering" not in data


def test_ignored_x_accel_buffering_keeps_buffering(ptc, backends):
    b = backends.new(slow_origin("X-Accel-Buffering: no\r\n"))
    srv = start(ptc, b, "proxy_ignore_headers X-Accel-Buffering;")
    first, data = first_piece_time(srv)
    assert first is not None and first >= 0.8, first
    assert data.endswith(b"part1part2")


def test_x_accel_buffering_yes_buffers_with_buffering_off(ptc, backends):
    b = backends.new(slow_origin("X-Accel-Buffering: yes\r\n"))
    srv = start(ptc, b, "proxy_buffering off;")
    first, data = first_piece_time(srv)
    assert first is not None and first >= 0.8, first


TARGETS = ('location /target { return 200 "target $request_method $uri $args"; } '
           'location @named { return 200 "named $request_method"; }')


def accel(value, extra=()):
    hs = [("X-Accel-Redirect", value), ("Set-Cookie", "s=1"), ("X-Other", "dropped")]
    return lambda req: send(response(200, b"origin body", hs + list(extra)), keep=False)


def test_x_accel_redirect_serves_the_named_uri(ptc, backends):
    b = backends.new(accel("/target?a=1"))
    srv = start(ptc, b, locations=TARGETS)
    r = srv.get("/x", method="POST", body=b"data")
    assert (r.status, r.body) == (200, b"target GET /target a=1")
    assert r.header("Set-Cookie") == "s=1"
    assert r.header("X-Other") is None and r.header("X-Accel-Redirect") is None


def test_x_accel_redirect_to_a_named_location(ptc, backends):
    b = backends.new(accel("@named"))
    srv = start(ptc, b, locations=TARGETS)
    r = srv.get("/x?q=1")
    assert (r.status, r.body) == (200, b"named GET")


def test_x_accel_redirect_drops_the_client_args(ptc, backends):
    b = backends.new(accel("/target"))
    srv = start(ptc, b, locations=TARGETS)
    assert srv.get("/x?q=1").body == b"target GET /target "


def test_x_accel_redirect_to_an_unsafe_uri_is_404(ptc, backends):
    b = backends.new(accel("/target/../etc/passwd"))
    srv = start(ptc, b, locations=TARGETS)
    assert srv.get("/x").status == 404


def test_ignored_x_accel_redirect_passes_the_response(ptc, backends):
    b = backends.new(accel("/target"))
    srv = start(ptc, b, "proxy_ignore_headers X-Accel-Redirect Expires;", locations=TARGETS)
    r = srv.get("/x")
    assert (r.status, r.body) == (200, b"origin body")
    assert r.header("X-Other") == "dropped"


def test_ignore_headers_accepts_nginx_names(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_ignore_headers X-Accel-Expires X-Accel-Limit-Rate "
                "X-Accel-Charset Expires Cache-Control Set-Cookie Vary;")
    assert srv.get("/").status == 200


def test_ignore_headers_rejects_other_names(ptc, backends):
    b = backends.new()
    srv = ptc.start("server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://%s; "
                    "proxy_ignore_headers X-Foo; } }" % b.addr, expect_fail=True)
    assert srv.returncode != 0
    assert 'invalid value "X-Foo"' in srv.stderr_text() + srv.error_log()


# ---- item 4: proxy_cookie_domain, proxy_cookie_path, proxy_cookie_flags -----


def cookies(ptc, backends, loc, *values):
    hs = [("Set-Cookie", v) for v in values]
    b = backends.new(lambda req: send(response(200, b"ok", hs), keep=False))
    srv = start(ptc, b, loc)
    return srv.get("/").header_all("Set-Cookie")


def test_cookie_domain_plain_is_caseless_and_keeps_the_dot(ptc, backends):
    got = cookies(ptc, backends, "proxy_cookie_domain origin.local example.com;",
                  "a=1; Domain=.Origin.LOCAL; Path=/", "b=2; domain=origin.local",
                  "c=3; Domain=other.local")
    assert got == ["a=1; Domain=.example.com; Path=/", "b=2; domain=example.com",
                   "c=3; Domain=other.local"]


def test_cookie_domain_regex_with_captures(ptc, backends):
    got = cookies(ptc, backends, r"proxy_cookie_domain ~\.(?P<sl>[a-z]+)\.internal$ $sl.example.com;",
                  "a=1; Domain=app.Shop.internal")
    assert got == ["a=1; Domain=Shop.example.com"]


def test_cookie_domain_first_rule_wins_and_variables(ptc, backends):
    got = cookies(ptc, backends, "proxy_cookie_domain origin.local $host; "
                  "proxy_cookie_domain origin.local never;", "a=1; Domain=origin.local")
    assert got == ["a=1; Domain=localhost"]


def test_cookie_path_prefix_and_regex(ptc, backends):
    got = cookies(ptc, backends, "proxy_cookie_path /app/ /; "
                  "proxy_cookie_path ~*^/OLD/(.*)$ /new/$1;",
                  "a=1; Path=/app/x", "b=2; Path=/old/y/z", "c=3; Path=/App/x")
    assert got == ["a=1; Path=/x", "b=2; Path=/new/y/z", "c=3; Path=/App/x"]


def test_cookie_rules_off_cancels_inherited(ptc, backends):
    hs = [("Set-Cookie", "a=1; Path=/app/x")]
    b = backends.new(lambda req: send(response(200, b"ok", hs), keep=False))
    srv = ptc.start("proxy_cookie_path /app/ /; server { listen 127.0.0.1:%%PORT%%; "
                    "location / { proxy_pass http://%s; } "
                    "location /raw { proxy_pass http://%s; proxy_cookie_path off; } }"
                    % (b.addr, b.addr))
    assert srv.get("/").header("Set-Cookie") == "a=1; Path=/x"
    assert srv.get("/raw").header("Set-Cookie") == "a=1; Path=/app/x"


def test_cookie_flags_add_and_remove(ptc, backends):
    got = cookies(ptc, backends, "proxy_cookie_flags sid secure httponly samesite=strict; "
                  "proxy_cookie_flags ~^tr nosecure nohttponly nosamesite;",
                  "sid=1; Path=/", "sid=2; Secure; SameSite=None", "track=3; Secure; HttpOnly; "
                  "SameSite=Lax; Path=/", "other=4; Secure")
    assert got == ["sid=1; Path=/; Secure; HttpOnly; SameSite=Strict",
                   "sid=2; Secure; SameSite=Strict; HttpOnly",
                   "track=3; Path=/", "other=4; Secure"]


@pytest.mark.portico_only  # nginx accepts and ignores an unknown flag
def test_cookie_flags_rejects_unknown_flag(ptc, backends):
    b = backends.new()
    srv = ptc.start("server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://%s; "
                    "proxy_cookie_flags a bogus; } }" % b.addr, expect_fail=True)
    assert srv.returncode != 0
    assert 'invalid parameter "bogus"' in srv.stderr_text() + srv.error_log()


# ---- item 5: proxy_bind, $upstream_cookie_NAME, $upstream_cache_status -------


def test_bind_sets_the_source_address(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_bind 127.0.0.2;")
    assert srv.get("/").status == 200
    assert b.connections[0].peer[0] == "127.0.0.2"


def test_bind_with_variables_and_off(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_bind $arg_src;",
                locations="location /off { proxy_pass http://%s; proxy_bind off; }" % b.addr)
    assert srv.get("/?src=127.0.0.3").status == 200
    assert srv.get("/").status == 200  # empty value: no bind
    assert srv.get("/off?src=127.0.0.4").status == 200
    assert [c.peer[0] for c in b.connections] == ["127.0.0.3", "127.0.0.1", "127.0.0.1"]


def test_bind_to_a_foreign_address_fails_the_request(ptc, backends):
    b = backends.new()
    srv = start(ptc, b, "proxy_bind 192.0.2.1;")
    srv.allow_log_errors()
    assert srv.get("/").status in (500, 502)
    assert not b.connections
    assert "bind(192.0.2.1" in srv.error_log()


def test_bind_rejects_an_invalid_address(ptc, backends):
    b = backends.new()
    srv = ptc.start("server { listen 127.0.0.1:%%PORT%%; location / { proxy_pass http://%s; "
                    "proxy_bind 127.0.0.2 sideways; } }" % b.addr, expect_fail=True)
    assert srv.returncode != 0


def test_upstream_cookie_and_cache_status_variables(ptc, backends):
    hs = [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "Sid=xyz; HttpOnly")]
    b = backends.new(lambda req: send(response(200, b"ok", hs), keep=False))
    srv = ptc.start("log_format c '$upstream_cookie_sid|$upstream_cookie_a|"
                    "$upstream_cookie_none|$upstream_cache_status';\n"
                    "server { listen 127.0.0.1:%%PORT%%; access_log logs/c.log c; "
                    "location / { proxy_pass http://%s; "
                    "add_header X-Sid $upstream_cookie_sid; } }" % b.addr)
    r = srv.get("/")
    assert r.header("X-Sid") == "xyz"
    assert srv.wait_for(lambda: srv.access_log("c.log").strip())
    assert srv.access_log("c.log").strip() == "xyz|1|-|-"


# ---- proxy_limit_rate --------------------------------------------------------


def timed_get(srv):
    start = time.monotonic()
    r = srv.get("/", timeout=10)
    return time.monotonic() - start, r


BIG = b"z" * 300000


def test_limit_rate_slows_reading_from_the_origin(ptc, backends):
    b = backends.new(lambda req: send(response(200, BIG), keep=False))
    srv = start(ptc, b, "proxy_limit_rate 100k;",
                locations="location /free { proxy_pass http://%s; }" % b.addr)
    took, r = timed_get(srv)
    assert r.body == BIG
    # 100k in the first second, then 100k a second: about 1.9 s for 300000 bytes
    assert 1.4 <= took < 6, took
    t0 = time.monotonic()
    assert srv.get("/free").body == BIG
    assert time.monotonic() - t0 < 1.0


def test_limit_rate_needs_buffering(ptc, backends):
    b = backends.new(lambda req: send(response(200, BIG), keep=False))
    srv = start(ptc, b, "proxy_limit_rate 100k; proxy_buffering off;")
    took, r = timed_get(srv)
    assert r.body == BIG and took < 1.0, took


# ---- proxy_force_ranges --------------------------------------------------------

DIGITS = b"0123456789" * 1000


def test_force_ranges_serves_a_range_of_the_origin_response(ptc, backends):
    b = backends.new(lambda req: send(response(200, DIGITS, {"ETag": '"e1"'}), keep=False))
    srv = start(ptc, b, "proxy_force_ranges on; proxy_set_header Range \"\";",
                locations="location /plain { proxy_pass http://%s; "
                "proxy_set_header Range \"\"; }" % b.addr)
    r = srv.get("/", headers={"Range": "bytes=5-14"})
    assert r.status == 206 and r.body == b"5678901234"
    assert r.header("Content-Range") == "bytes 5-14/10000"
    r = srv.get("/", headers={"Range": "bytes=-3"})
    assert r.status == 206 and r.body == b"789"
    r = srv.get("/", headers={"Range": "bytes=9998-"})
    assert r.status == 206 and r.body == b"89"
    r = srv.get("/")
    assert r.status == 200 and r.body == DIGITS and r.header("Accept-Ranges") == "bytes"
    r = srv.get("/", headers={"Range": "bytes=0-1", "If-Range": '"e1"'})
    assert r.status == 206 and r.body == b"01"
    r = srv.get("/", headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert r.status == 200 and r.body == DIGITS
    # without proxy_force_ranges the origin's 200 passes whole
    r = srv.get("/plain", headers={"Range": "bytes=5-14"})
    assert r.status == 200 and r.body == DIGITS


def test_force_ranges_unsatisfiable_is_416(ptc, backends):
    b = backends.new(lambda req: send(response(200, DIGITS), keep=False))
    srv = start(ptc, b, "proxy_force_ranges on; proxy_set_header Range \"\";")
    r = srv.get("/", headers={"Range": "bytes=20000-"})
    assert r.status == 416
    assert r.header("Content-Range") == "bytes */10000"
