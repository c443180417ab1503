"""resolver and resolver_timeout: accepted and checked so that nginx
configurations load, at every level; Portico resolves names when the
configuration is read and sends no DNS query at run time (no test here
makes one: only literal addresses, or names Portico does not look up)."""

import pytest


def check(ptc, conf):
    srv = ptc.prepare("server { listen 127.0.0.1:%%PORT%%; %s }" % conf)
    return srv.cli("-t")


@pytest.mark.parametrize("conf", [
    "resolver 127.0.0.1;",
    "resolver 127.0.0.1:5353 [::1]:53 valid=30s ipv6=off;",
    "resolver [::1] ipv6=on; resolver_timeout 5s;",
    "location / { resolver 192.0.2.53 valid=1m; resolver_timeout 2s; }",
])
def test_accepted(ptc, conf):
    r = check(ptc, conf)
    assert r.returncode == 0, r.stderr


def test_http_level_and_serving(ptc):
    srv = ptc.start("resolver 127.0.0.1 valid=10s; resolver_timeout 3s;"
                    "server { listen 127.0.0.1:%PORT%; resolver 127.0.0.2; "
                    "location / { return 200 ok; } }")
    assert srv.get("/").body == b"ok"


@pytest.mark.portico_only
def test_host_names_are_not_looked_up(ptc):
    # nginx would resolve the name here; Portico only checks its syntax
    r = check(ptc, "resolver dns.invalid:5353 127.0.0.1;")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("conf, message", [
    ("resolver 127.0.0.1 valid=abc;", "invalid parameter: valid=abc"),
    ("resolver 127.0.0.1 ipv6=maybe;", "invalid parameter: ipv6=maybe"),
    ("resolver 127.0.0.1:99999;", 'invalid port in resolver "127.0.0.1:99999"'),
    ("resolver ::1;", 'invalid port in resolver "::1"'),
    ("resolver valid=10s;", "no name servers defined"),
    ("resolver 127.0.0.1; resolver 127.0.0.2;", '"resolver" directive is duplicate'),
    ("resolver_timeout abc;", '"resolver_timeout" directive invalid value'),
    ("resolver_timeout 1s; resolver_timeout 2s;", '"resolver_timeout" directive is duplicate'),
])
def test_errors(ptc, conf, message):
    r = check(ptc, conf)
    assert r.returncode == 1
    assert message in r.stderr
    assert "test.conf:" in r.stderr
