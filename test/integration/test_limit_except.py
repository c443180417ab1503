"""limit_except: a block of allow/deny rules for the methods a location does
not list (GET implies HEAD). As in nginx, a request with such a method is
served by the block's configuration, which inherits the location's but has
no rewrite directives of its own (so `return` and `if` in the location do not
run for it). Configs use @A for a backend."""

import pytest

from backend import Backends

FILES = {"html/f/a.txt": "file\n", "html/n/a.txt": "file\n"}


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, b=None):
    conf = "server {\n    listen 127.0.0.1:%PORT%;\n" + body + "\n}\n"
    if b is not None:
        conf = conf.replace("@A", b.addr)
    return ptc.start(conf, files=FILES)


def status(srv, method, path):
    body = b"" if method in ("POST", "PUT", "PATCH") else None
    return srv.get(path, method=method, body=body).status


def test_deny_all_but_get(ptc):
    srv = start(ptc, "location /f/ { limit_except GET { deny all; } }")
    assert status(srv, "GET", "/f/a.txt") == 200
    assert status(srv, "HEAD", "/f/a.txt") == 200
    for m in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "FOO"):
        assert status(srv, m, "/f/a.txt") == 403, m
    assert srv.wait_for(lambda: "access forbidden by rule" in srv.error_log())


def test_listed_methods_pass(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location / { limit_except GET POST delete { deny all; } "
                     "proxy_pass http://@A; }", b=b)
    for m in ("GET", "HEAD", "POST", "DELETE"):
        assert status(srv, m, "/x") == 200, m
    for m in ("PUT", "PATCH", "OPTIONS"):
        assert status(srv, m, "/x") == 403, m
    assert [r.method for r in b.requests] == ["GET", "HEAD", "POST", "DELETE"]


def test_head_alone_does_not_allow_get(ptc):
    srv = start(ptc, "location /f/ { limit_except HEAD { deny all; } }")
    assert status(srv, "HEAD", "/f/a.txt") == 200
    assert status(srv, "GET", "/f/a.txt") == 403


def test_allow_from_an_address(ptc, backends):
    b = backends.new()
    srv = start(ptc, "location /in/ { limit_except GET { allow 127.0.0.1; deny all; } "
                     "proxy_pass http://@A; }"
                     "location /out/ { limit_except GET { allow 10.0.0.0/8; deny all; } "
                     "proxy_pass http://@A; }", b=b)
    assert status(srv, "POST", "/in/x") == 200
    assert status(srv, "POST", "/out/x") == 403
    assert status(srv, "GET", "/out/x") == 200
    # the proxied handler is the location's for every method
    assert [r.target for r in b.requests] == ["/in/x", "/out/x"]


def test_location_rules_still_apply_to_allowed_methods(ptc):
    srv = start(ptc, "location /f/ { deny all; limit_except GET { allow all; } }")
    assert status(srv, "GET", "/f/a.txt") == 403
    # the block has its own rules, which replace the location's
    assert status(srv, "POST", "/f/a.txt") == 405


def test_block_inherits_the_location_rules(ptc):
    srv = start(ptc, "location /f/ { deny 127.0.0.1; limit_except GET { } }")
    assert status(srv, "GET", "/f/a.txt") == 403
    assert status(srv, "POST", "/f/a.txt") == 403


def test_return_and_if_do_not_run_for_limited_methods(ptc):
    srv = start(ptc, 'location /r { limit_except GET { deny all; } return 200 "ret"; }'
                     'location /i/ { limit_except GET { allow all; } '
                     'if ($arg_x) { return 200 "if"; } return 200 "loc"; }')
    assert srv.get("/r").body == b"ret"
    assert status(srv, "POST", "/r") == 403
    assert srv.get("/i/?x=1").body == b"if"
    # allowed by the block, then served without the location's return: no file
    assert status(srv, "POST", "/i/?x=1") == 404


def test_named_location(ptc):
    srv = start(ptc, "location /n/ { error_page 404 = @n; }"
                     "location @n { limit_except GET { deny all; } return 200 named; }")
    assert srv.get("/n/missing").body == b"named"
    assert status(srv, "POST", "/n/missing") == 403


def test_nested_location_does_not_inherit_it(ptc):
    srv = start(ptc, "location /f/ { limit_except GET { deny all; } "
                     "location /f/open/ { return 200 open; } }")
    assert status(srv, "POST", "/f/a.txt") == 403
    assert status(srv, "POST", "/f/open/") == 200


def test_alias_is_kept(ptc):
    srv = start(ptc, "location /al/ { alias html/f/; limit_except POST { allow all; } }")
    assert srv.get("/al/a.txt").body == b"file\n"


@pytest.mark.parametrize("conf, message", [
    ("location / { limit_except GET BREW { deny all; } }", 'invalid method "BREW"'),
    ("location / { limit_except { deny all; } }", "invalid number of arguments"),
    ("location / { limit_except GET { deny all; } limit_except POST { deny all; } }",
     "is duplicate"),
    ("limit_except GET { deny all; }", "is not allowed here"),
    ("location / { limit_except GET { return 403; } }", "is not allowed here"),
])
def test_config_errors(ptc, conf, message):
    srv = ptc.prepare("server { listen 127.0.0.1:%%PORT%%; %s }" % conf)
    r = srv.cli("-t")
    assert r.returncode == 1
    assert message in r.stderr
