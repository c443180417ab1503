"""allow / deny: rule order, IPv4, IPv6 and unix-socket clients, inheritance
between levels, the address realip settled on, the 403 and its log line,
error_page, and configuration errors. Allowed requests are served from
files: `return` runs in the rewrite phase, before access checks (as in
nginx)."""
import re
import socket

import pytest

from conftest import build_request, parse_response, read_response


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


DIRS = ("", "v6only/", "no6/", "net/", "unix/", "tcp/", "inherit/", "replace/",
        "replace/nested/", "replace/deeper/", "again/", "v4/", "v6/", "v6all/", "mixed/", "private/",
        "public/")
FILES = {"html/%sindex.html" % d: "ok" for d in DIRS}


def start(ptc, http, **kw):
    return ptc.start(http, files=dict(FILES, **kw.pop("files", {})), **kw)


def status(srv, path="/", headers=None):
    resp = srv.get(path, headers=headers)
    assert resp.status != 200 or resp.body == b"ok"
    return resp.status


def server(rules, extra=""):
    return "server { listen 127.0.0.1:%PORT%; " + extra + " location / { " + rules + " } }"


@pytest.mark.parametrize("rules, expected", [
    ("allow 127.0.0.1; deny all;", 200),
    ("deny 127.0.0.1; allow all;", 403),
    ("deny all; allow 127.0.0.1;", 403),                      # the first match wins
    ("deny 127.0.0.2; allow 127.0.0.0/8; deny all;", 200),
    ("deny 10.0.0.0/8; deny 192.0.2.1;", 200),                # nothing matches: allowed
    ("allow 10.0.0.0/8; deny 127.0.0.0/24; allow all;", 403),
    ("allow ::1; deny 0.0.0.0/0;", 403),                      # IPv6 rules skip IPv4 clients
    ("allow unix:; deny all;", 403),
])
def test_rules_in_order_first_match_wins(ptc, rules, expected):
    srv = start(ptc, server(rules))
    assert status(srv) == expected


def test_denied_request_log_line_and_keepalive(ptc):
    srv = start(ptc, "server { listen 127.0.0.1:%PORT%; server_name acl.test;\n"
                    "  location /private/ { deny all; }\n"
                    "  location / { } }")
    s = srv.connect()
    s.sendall(b"POST /private/x HTTP/1.1\r\nHost: acl.test\r\nContent-Length: 5\r\n\r\nhello")
    resp = read_response(s)
    assert resp.status == 403
    assert b"403 Forbidden" in resp.body
    # the body was dropped and the connection serves the next request
    s.sendall(build_request("/public/", host="acl.test"))
    assert read_response(s).body == b"ok"
    s.close()
    assert srv.wait_for(lambda: "access forbidden by rule" in srv.error_log())
    line = next(ln for ln in srv.error_log().splitlines() if "access forbidden by rule" in ln)
    assert re.search(r"\[error\] \d+#\d+: \*\d+ access forbidden by rule, client: 127\.0\.0\.1, "
                     r"server: acl\.test, request: \"POST /private/x HTTP/1\.1\", "
                     r"host: \"acl\.test\"$", line), line


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_clients(ptc):
    srv = start(ptc, """
        server {
            listen 127.0.0.1:%PORT%;
            listen [::1]:%PORT%;
            location /v6only/ { allow ::1; deny all; }
            location /no6/ { deny ::/0; }
            location /net/ { deny 2001:db8::/32; allow ::1/128; deny all; }
        }
    """)

    def get6(path):
        s = socket.create_connection(("::1", srv.port), timeout=5)
        s.sendall(build_request(path))
        try:
            return read_response(s).status
        finally:
            s.close()

    assert get6("/v6only/") == 200
    assert status(srv, "/v6only/") == 403
    assert get6("/no6/") == 403
    assert status(srv, "/no6/") == 200
    assert get6("/net/") == 200


def test_unix_socket_clients(ptc):
    srv = start(ptc, """
        server {
            listen 127.0.0.1:%PORT%;
            listen unix:%PREFIX%/http.sock;
            location /unix/ { allow unix:; deny all; }
            location /tcp/ { deny unix:; }
        }
    """)

    def get_unix(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(str(srv.prefix / "http.sock"))
        s.sendall(build_request(path))
        try:
            return read_response(s).status
        finally:
            s.close()

    assert get_unix("/unix/") == 200
    assert status(srv, "/unix/") == 403
    assert get_unix("/tcp/") == 403
    assert status(srv, "/tcp/") == 200


def test_levels_inherit_or_replace(ptc):
    srv = start(ptc, """
        deny 127.0.0.1;
        server {
            listen 127.0.0.1:%PORT%;
            location /inherit/ { }
            location /replace/ {
                allow 127.0.0.1;
               
                location /replace/nested/ { }
                location /replace/deeper/ { deny 127.0.0.0/8; }
            }
        }
        server {
            listen 127.0.0.1:%PORT2%;
            allow all;
            location / { }
            location /again/ { deny all; }
        }
    """, ports=2)
    assert status(srv, "/inherit/") == 403
    assert status(srv, "/") == 403  # no location matched: the server level applies
    assert status(srv, "/replace/") == 200
    assert status(srv, "/replace/nested/") == 200
    assert status(srv, "/replace/deeper/") == 403
    assert srv.get("/", port=srv.ports[1]).status == 200
    assert srv.get("/again/", port=srv.ports[1]).status == 403


XFF = "set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For;"


@pytest.mark.parametrize("where", ["server", "location"])
def test_rules_see_the_realip_address(ptc, where):
    rules = "deny 192.0.2.1; deny 2001:db8::/32; allow all;"
    if where == "server":
        srv = start(ptc, server(rules, extra=XFF))
    else:
        srv = start(ptc, server(XFF + " " + rules))
    # the file itself: an index redirect would run the access phase twice
    path = "/index.html"
    assert status(srv, path, {"X-Forwarded-For": "192.0.2.1"}) == 403
    assert status(srv, path, {"X-Forwarded-For": "192.0.2.1, 192.0.2.2"}) == 200
    assert status(srv, path, {"X-Forwarded-For": "2001:db8::5"}) == 403
    assert status(srv, path) == 200
    assert srv.wait_for(lambda: "access forbidden by rule, client: 192.0.2.1," in srv.error_log())


def test_ipv4_mapped_client_matches_ipv4_rules(ptc):
    # realip makes the client ::ffff:192.0.2.1, an IPv6 address
    srv = start(ptc, "server { listen 127.0.0.1:%PORT%; " + XFF
                    + " location /v4/ { deny 192.0.2.0/24; allow all; }"
                    + " location /v6/ { deny ::ffff:192.0.2.1; }"
                    + " location /v6all/ { deny ::ffff:192.0.2.1; allow all; }"
                    + " location /mixed/ { deny ::ffff:192.0.2.1; allow 192.0.2.1;"
                    + "   deny all; } }")
    mapped = {"X-Forwarded-For": "::ffff:192.0.2.1"}
    assert status(srv, "/v4/", mapped) == 403
    assert status(srv, "/v4/", {"X-Forwarded-For": "::ffff:192.0.3.1"}) == 200
    # with no IPv4 rule the address is matched as IPv6
    assert status(srv, "/v6/", mapped) == 403
    # with IPv4 rules present ("all" is one), IPv6 rules are not consulted for it
    assert status(srv, "/v6all/", mapped) == 200
    assert status(srv, "/mixed/", mapped) == 200


def test_error_page_for_403(ptc):
    srv = start(ptc, """
        server {
            listen 127.0.0.1:%PORT%;
            error_page 403 /forbidden.html;
            location / { deny all; }
            location = /forbidden.html { root html; }
            location /self/ { deny all; error_page 403 /self/page.html; }
        }
    """, files={"html/forbidden.html": "go away\n"})
    resp = srv.get("/x")
    assert resp.status == 403
    assert resp.body == b"go away\n"
    # the error page is itself denied: the built-in page
    resp = srv.get("/self/x")
    assert resp.status == 403
    assert b"403 Forbidden" in resp.body


def conf_check(srv, http):
    srv.conf_path.write_text("events { }\nhttp {\nserver {\n listen 127.0.0.1:1;\n"
                             + http + "\n}\n}\n")
    return srv.cli("-t")


@pytest.mark.parametrize("rule, message", [
    ("allow 10.0.0.300;", 'invalid parameter "10.0.0.300"'),
    ("deny 10.0.0.0/33;", 'invalid parameter "10.0.0.0/33"'),
    ("deny ::1/129;", 'invalid parameter "::1/129"'),
    ("allow unix:/tmp/x;", 'invalid parameter "unix:/tmp/x"'),
    ("allow localhost;", 'invalid parameter "localhost"'),
    ("deny all 10.0.0.1;", 'invalid number of arguments in "deny" directive'),
])
def test_bad_rule_names_file_and_line(ptc, rule, message):
    srv = ptc.prepare()
    r = conf_check(srv, rule)
    assert r.returncode == 1
    assert re.search(r"\[emerg\] (\d+#\d+: )?%s in %s:5\n"
                     % (re.escape(message), re.escape(str(srv.conf_path))), r.stderr), r.stderr


def test_low_address_bits_warn(ptc):
    srv = ptc.prepare()
    r = conf_check(srv, "allow 10.0.0.1/8;\ndeny 2001:db8::1/32;")
    assert r.returncode == 0, r.stderr
    for text, line in (("10.0.0.1/8", 5), ("2001:db8::1/32", 6)):
        assert re.search(r"\[warn\] (\d+#\d+: )?low address bits of %s are meaningless in %s:%d\n"
                         % (re.escape(text), re.escape(str(srv.conf_path)), line), r.stderr), \
            r.stderr


def test_host_bits_are_cleared(ptc):
    srv = start(ptc, server("deny 127.0.0.99/8; allow all;"))
    assert status(srv) == 403
