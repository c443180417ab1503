"""The request filter (a Portico addition; nginx has no such module): filter_rule on
each target, the actions, path normalisation against bypass attempts, body rules
(Content-Length, chunked, temp file, with the proxy buffering on and off), rule
accumulation and `filter off`, dry run, $filter_rule, the regex match limit and
config errors.

Configs use @A for the backend's address (127.0.0.1:port)."""

import re
import socket
import time

import pytest

from backend import Backends, chunk
from conftest import parse_response, read_response

pytestmark = pytest.mark.portico_only


@pytest.fixture
def backends():
    with Backends() as bs:
        yield bs


def start(ptc, body, b=None, http="", files=None):
    """One server on %PORT% whose body is `body`; extra http-level text in `http`."""
    conf = "%s\nserver {\n    listen 127.0.0.1:%%PORT%%;\n%s\n}\n" % (http, body)
    if b is not None:
        conf = conf.replace("@A", b.addr)
    return ptc.start(conf, files=files)


STATIC = {"html/index.html": "index\n", "html/admin": "secret\n", "html/denied.html": "custom\n"}


def proxied(ptc, backends, rules, extra="", http=""):
    """A proxy to one backend with `rules` at server level; returns (srv, backend)."""
    b = backends.new()
    srv = start(ptc, "%s\n%s\nlocation / { proxy_pass http://@A; }" % (rules, extra), b, http)
    return srv, b


def raw_status(srv, target, headers=""):
    data = srv.raw(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n"
                    % (target, headers)).encode())
    return parse_response(data).status if data else None


# ---------------------------------------------------------------------------
# path normalisation: bypass attempts against one deny rule

ADMIN = 'filter_rule admin path ~* "^/admin";'


@pytest.mark.parametrize("target", [
    "/admin", "/a/../admin", "//admin", "/%61dmin", "/ADMIN", "/admin;x", "/./admin",
    "/admin/", "/x/%2E%2E/admin", "/x%2F..%2Fadmin", "///admin//"])
def test_path_rule_sees_the_normalised_path(ptc, backends, target):
    srv, b = proxied(ptc, backends, ADMIN)
    assert raw_status(srv, target) == 403
    assert b.requests == []


def test_climbing_above_the_root_is_refused_before_the_rules(ptc, backends):
    srv, b = proxied(ptc, backends, ADMIN)
    assert raw_status(srv, "/%2e%2e/admin") == 400
    assert raw_status(srv, "/../admin") == 400
    assert b.requests == []


def test_percent_is_decoded_once_only(ptc, backends):
    srv, b = proxied(ptc, backends, ADMIN)
    # %2561 is "%61" after one decoding: a different path, passed on as sent
    assert raw_status(srv, "/%2561dmin") == 200
    assert b.requests[0].target == "/%2561dmin"
    assert raw_status(srv, "/public") == 200


def test_double_slashes_merged_for_rules_even_with_merge_slashes_off(ptc, backends):
    srv, b = proxied(ptc, backends, ADMIN + " merge_slashes off;")
    assert raw_status(srv, "//admin") == 403
    assert raw_status(srv, "/x//y") == 200
    assert [r.target for r in b.requests] == ["/x//y"]


def test_path_rule_sees_the_uri_after_an_index_redirect(ptc):
    srv = start(ptc, 'root html; filter_rule idx path ~ "^/index\\.html$";', files=STATIC)
    assert srv.get("/").status == 403
    assert srv.get("/admin").status == 200


# ---------------------------------------------------------------------------
# targets

def test_uri_target_is_the_raw_request_target(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule raw uri ~* "%2e|\\?debug";')
    assert raw_status(srv, "/a/%2E/b") == 403
    assert raw_status(srv, "/a?debug=1") == 403
    assert raw_status(srv, "/a/./b") == 200      # no "%2e" in what was sent
    assert raw_status(srv, "/a?x=debug") == 200


def test_args_target_is_the_raw_query_string(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule dbg args ~ "(^|&)debug=";')
    assert raw_status(srv, "/?a=1&debug=1") == 403
    assert raw_status(srv, "/?debug=") == 403
    assert raw_status(srv, "/?a=1&xdebug=1") == 200
    assert raw_status(srv, "/?a=%64ebug=1") == 200   # args are not decoded
    assert raw_status(srv, "/") == 200


@pytest.mark.parametrize("query, status", [
    ("", 200), ("?id=12", 200), ("?id=", 200), ("?other=x", 200),
    ("?id=1%20or%201", 403), ("?id=1+1", 403), ("?id=1&id=x", 403), ("?id=x&id=1", 403),
    ("?ID=x", 403), ("?i%64=x", 403), ("?a=1&id=2&b=%41", 200)])
def test_arg_target_each_occurrence_decoded(ptc, backends, query, status):
    srv, b = proxied(ptc, backends, 'filter_rule id_numeric arg:id !~ "^[0-9]*$";')
    assert raw_status(srv, "/p" + query) == status


def test_arg_value_is_percent_decoded_once(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule xss arg:q ~* "<script";')
    assert raw_status(srv, "/?q=%3Cscript%3E") == 403
    assert raw_status(srv, "/?q=%3cSCRIPT") == 403
    assert raw_status(srv, "/?q=%253Cscript") == 200   # decoded once: "%3Cscript"
    assert raw_status(srv, "/?qq=%3Cscript") == 200


def test_header_target_checks_every_instance(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule scanner header:User-Agent ~* "sqlmap|nikto";')
    assert raw_status(srv, "/", "User-Agent: sqlmap/1.5\r\n") == 403
    assert raw_status(srv, "/", "User-Agent: curl\r\nuser-agent: Nikto\r\n") == 403
    assert raw_status(srv, "/", "User-Agent: curl\r\n") == 200
    assert raw_status(srv, "/", "X-Agent: sqlmap\r\n") == 200


def test_missing_header_is_tested_as_empty(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule key header:X-Api-Key !~ "^k1$";')
    assert raw_status(srv, "/") == 403
    assert raw_status(srv, "/", "X-Api-Key: k2\r\n") == 403
    assert raw_status(srv, "/", "X-Api-Key: k1\r\n") == 200


def test_cookie_target(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule role cookie:role ~ "^admin$";')
    assert raw_status(srv, "/", "Cookie: a=1; role=admin; b=2\r\n") == 403
    assert raw_status(srv, "/", "Cookie: a=1\r\nCookie: role = admin \r\n") == 403
    assert raw_status(srv, "/", "Cookie: role=user; role=admin\r\n") == 403
    assert raw_status(srv, "/", "Cookie: xrole=admin; role=user\r\n") == 200
    assert raw_status(srv, "/", "X-Role: role=admin\r\n") == 200


def test_body_target_with_content_length(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule sqli body ~* "drop\\s+table";')
    assert srv.get("/f", method="POST", body="name=x; DROP  TABLE users").status == 403
    body = b"name=harmless&" + bytes(range(256))
    r = srv.get("/f", method="POST", body=body)
    assert r.status == 200
    assert [(q.body, q.header("Content-Length")) for q in b.requests] == [
        (body, str(len(body)))]


# ---------------------------------------------------------------------------
# actions

def test_custom_deny_status(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule slow path ~ "^/busy" deny=429;'
                     'filter_rule gone path ~ "^/old" deny=410;')
    r = srv.get("/busy")
    assert (r.status, r.reason) == (429, "Too Many Requests")
    assert srv.get("/old/x").status == 410
    assert b.requests == []


def test_close_sends_nothing(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule bot header:User-Agent ~ "badbot" close;')
    s = srv.connect()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: badbot\r\n\r\n")
    s.settimeout(5)
    try:
        data = s.recv(65536)
    except ConnectionResetError:
        data = b""
    s.close()
    assert data == b""
    assert b.requests == []
    assert raw_status(srv, "/", "User-Agent: good\r\n") == 200


def test_log_only_passes_and_logs(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule trial path ~ "^/new" log;')
    assert srv.get("/new/page").status == 200
    assert len(b.requests) == 1
    line = 'filter rule "trial" matched path (log only), client: 127.0.0.1'
    assert srv.wait_for(lambda: line in srv.error_log())
    assert re.search(r'\[error\] .*filter rule "trial" matched path \(log only\), client: '
                     r'127\.0\.0\.1, server: , request: "GET /new/page HTTP/1\.1"',
                     srv.error_log())


def test_first_firing_rule_acts_and_log_level(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_log_level notice;'
                     'filter_rule first path ~ "^/x" log; filter_rule second path ~ "^/x/y";'
                     'filter_rule third path ~ "^/x" deny=418;')
    assert srv.get("/x/y").status == 403
    assert srv.get("/x/z").status == 418
    log = srv.error_log()
    assert re.search(r'\[notice\] .*filter rule "second" matched path, client', log)
    assert log.count('filter rule "first" matched path (log only)') == 2


def test_error_page_after_a_denial_is_not_judged_again(ptc):
    srv = start(ptc, 'root html; error_page 403 /denied.html;'
                'filter_rule ua header:User-Agent ~ "evil";', files=STATIC)
    r = srv.get("/admin", headers={"User-Agent": "evil"})
    assert (r.status, r.body) == (403, b"custom\n")
    assert srv.error_log().count('filter rule "ua" matched') == 1


# ---------------------------------------------------------------------------
# bodies

SQLI = 'filter_rule sqli body ~ "DROP TABLE";'


def send_chunked(srv, pieces):
    """POST with a chunked body written in `pieces` of raw bytes (odd splits)."""
    s = srv.connect()
    s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    for p in pieces:
        time.sleep(0.02)   # separate reads on the server side
        s.sendall(p)
    r = read_response(s)
    s.close()
    return r


def test_chunked_body_match_split_across_chunks(ptc, backends):
    srv, b = proxied(ptc, backends, SQLI)
    wire = chunk(b"x=1; DR") + chunk(b"OP T") + chunk(b"ABLE t") + b"0\r\n\r\n"
    # the byte stream cut in odd places too: inside size lines and chunk ends
    assert send_chunked(srv, [wire[:2], wire[2:9], wire[9:15], wire[15:21], wire[21:]]).status \
        == 403
    clean = chunk(b"x=1; DR") + chunk(b"OP") + chunk(b" TABLES") + b"0\r\n\r\n"
    r = send_chunked(srv, [clean[:5], clean[5:]])
    assert r.status == 403   # "DROP TABLE" is still in "DROP TABLES"
    ok = chunk(b"hello ") + chunk(b"world") + b"0\r\n\r\n"
    assert send_chunked(srv, [ok[:1], ok[1:12], ok[12:]]).status == 200
    assert [q.body for q in b.requests] == [b"hello world"]


def test_body_in_a_temp_file_is_inspected(ptc, backends):
    srv, b = proxied(ptc, backends, SQLI, "client_body_buffer_size 1k;"
                     "client_body_temp_path %PREFIX%/body_temp;")
    bad = b"a" * 5000 + b"DROP TABLE" + b"b" * 3000
    assert srv.get("/up", method="POST", body=bad).status == 403
    good = b"a" * 8000
    assert srv.get("/up", method="POST", body=good).status == 200
    assert [q.body for q in b.requests] == [good]


def test_only_the_body_prefix_is_inspected(ptc, backends):
    srv, b = proxied(ptc, backends, SQLI + " filter_body_size 1k;")
    late = b"a" * 2000 + b"DROP TABLE"
    assert srv.get("/up", method="POST", body=late).status == 200
    assert b.requests[0].body == late
    early = b"a" * 1020 + b"DROP TABLE"     # straddles the 1024-byte limit: cut
    assert srv.get("/up", method="POST", body=early).status == 200
    assert srv.get("/up", method="POST", body=b"a" * 10 + b"DROP TABLE").status == 403


def test_filter_body_size_zero_never_reads_for_rules(ptc, backends):
    srv, b = proxied(ptc, backends, SQLI + " filter_body_size 0;")
    assert srv.get("/up", method="POST", body="DROP TABLE").status == 200
    assert b.requests[0].body == b"DROP TABLE"


@pytest.mark.parametrize("buffering", ["on", "off"])
def test_proxy_sends_the_body_the_filter_read(ptc, backends, buffering):
    srv, b = proxied(ptc, backends, SQLI + " proxy_request_buffering %s;"
                     " proxy_http_version 1.1;" % buffering)
    body = bytes(range(256)) * 40
    r = srv.get("/cl", method="POST", body=body)
    assert r.status == 200
    wire = chunk(b"first ") + chunk(b"second") + b"0\r\n\r\n"
    assert send_chunked(srv, [wire[:4], wire[4:]]).status == 200
    assert [q.body for q in b.requests] == [body, b"first second"]
    assert b.requests[0].header("Content-Length") == str(len(body))
    assert send_chunked(srv, [chunk(b"DROP TABLE") + b"0\r\n\r\n"]).status == 403
    assert len(b.requests) == 2


def test_body_rule_after_a_denying_rule_reads_no_body(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule p path ~ "^/no";' + SQLI)
    s = srv.connect()
    # the body never comes: the path rule answers without waiting for it
    s.sendall(b"POST /no HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
    r = read_response(s, timeout=3)
    s.close()
    assert r.status == 403


def test_expect_continue_with_a_body_rule(ptc, backends):
    srv, b = proxied(ptc, backends, SQLI)
    s = srv.connect()
    s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
    s.settimeout(5)
    assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
    s.sendall(b"hello")
    assert read_response(s).status == 200
    s.close()
    assert b.requests[0].body == b"hello"


def test_body_rules_keep_alive_and_pipelining(ptc, backends):
    srv, b = proxied(ptc, backends, SQLI)
    s = srv.connect()
    s.sendall(b"POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
              b"POST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3\r\ndef\r\n0\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert [read_response(s).status for _ in range(3)] == [200, 200, 200]
    s.close()
    assert [(q.target, q.body) for q in b.requests] == [
        ("/1", b"abc"), ("/2", b"def"), ("/3", b"")]


def test_body_rule_with_static_content(ptc):
    srv = start(ptc, "root html; " + SQLI, files=STATIC)
    assert srv.get("/index.html", method="POST", body="DROP TABLE").status == 403
    r = srv.get("/index.html", method="POST", body="fine")
    assert r.status == 405      # as without the rule: static files take no POST


# ---------------------------------------------------------------------------
# levels

def test_rules_accumulate_from_http_to_location(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        filter_rule srv path ~ "^/s";
        location / {
            filter_rule loc path ~ "^/l";
            proxy_pass http://@A;
            location /n/ { filter_rule nested path ~ "^/n/x"; proxy_pass http://@A; }
        }
        location /free/ { filter off; proxy_pass http://@A; }
        """, b, http='filter_rule top path ~ "^/(h|free/h)";')
    for path in ("/h", "/s", "/l", "/n/x"):
        assert srv.get(path).status == 403, path
    for path in ("/n/y", "/free/h", "/other"):
        assert srv.get(path).status == 200, path
    assert [q.target for q in b.requests] == ["/n/y", "/free/h", "/other"]


def test_filter_off_and_on_again(ptc, backends):
    b = backends.new()
    srv = start(ptc, """
        filter off;
        filter_rule srv path ~ "^/x";
        location / { proxy_pass http://@A; }
        location /on/ { filter on; proxy_pass http://@A; }
        """, b, http='filter_rule top path ~ "^/on/top";')
    assert srv.get("/x").status == 200
    assert srv.get("/on/top").status == 403
    assert srv.get("/on/y").status == 200


def test_rules_from_included_files(ptc, backends):
    files = {"conf/rules/10-paths.conf": 'filter_rule one path ~ "^/one";\n',
             "conf/rules/20-args.conf": 'filter_rule two arg:t ~ "^2$" deny=451;\n'}
    b = backends.new()
    srv = start(ptc, "include rules/*.conf; location / { proxy_pass http://@A; }", b,
                files=files)
    assert srv.get("/one").status == 403
    assert srv.get("/x?t=2").status == 451
    assert srv.get("/x?t=3").status == 200


def test_dry_run_logs_every_rule_instead(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_dry_run on; filter_rule block path ~ "^/b" close;'
                     'filter_rule other path ~ "^/b/o";')
    assert srv.get("/b/o").status == 200
    log = srv.error_log()
    assert 'filter rule "block" matched path (log only)' in log
    assert 'filter rule "other" matched path (log only)' in log


# ---------------------------------------------------------------------------
# $filter_rule

def test_filter_rule_variable_in_the_access_log(ptc, backends):
    srv, b = proxied(ptc, backends,
                     'access_log logs/f.log fr; filter_rule watch arg:w ~ "." log;'
                     'filter_rule nope path ~ "^/nope";',
                     http="log_format fr '$request_uri $status [$filter_rule]';")
    srv.get("/ok")
    srv.get("/ok?w=1")
    srv.get("/nope?w=1")
    srv.get("/nope")
    expected = ["/ok 200 [-]", "/ok?w=1 200 [watch]", "/nope?w=1 403 [watch]",
                "/nope 403 [nope]"]
    assert srv.wait_for(lambda: srv.access_log("f.log").splitlines() == expected), \
        srv.access_log("f.log")


def test_filter_rule_variable_survives_an_internal_redirect(ptc):
    srv = start(ptc, "root html; access_log logs/f.log fr;"
                'filter_rule slash path ~ "^/$" log; filter_rule ua header:User-Agent ~ t log;',
                files=STATIC, http="log_format fr '$uri $status $filter_rule';")
    assert srv.get("/", headers={"User-Agent": "test"}).body == b"index\n"
    assert srv.wait_for(lambda: srv.access_log("f.log") == "/index.html 200 slash\n"), \
        srv.access_log("f.log")
    # the index redirect ran the rules again: a log-only rule is logged once
    assert srv.error_log().count('filter rule "ua" matched') == 1
    assert srv.error_log().count('filter rule "slash" matched') == 1


# ---------------------------------------------------------------------------
# limits and errors

def test_catastrophic_regex_is_bounded(ptc, backends):
    srv, b = proxied(ptc, backends, 'filter_rule redos arg:q ~ "^(a+)+$";'
                     'filter_rule allow arg:q !~ "^(a|aa)+$" deny=400;')
    began = time.monotonic()
    r = srv.get("/?q=" + "a" * 40 + "!", timeout=10)
    assert time.monotonic() - began < 5
    # the first rule hit the limit (no match); the negated one failed too: it fired
    assert r.status == 400
    assert srv.wait_for(lambda: 'filter rule "redos" hit the regex match limit' in
                        srv.error_log())
    assert srv.get("/?q=aaaa").status == 403


@pytest.mark.parametrize("rule, message", [
    ('filter_rule r path ~ "(";', "pcre2_compile() failed: missing closing parenthesis"),
    ('filter_rule r query ~ "x";', 'unknown filter target "query"'),
    ('filter_rule r header: ~ "x";', 'unknown filter target "header:"'),
    ('filter_rule r path ~ "x" drop;', 'unknown filter action "drop"'),
    ('filter_rule r path ~ "x" deny=302;', 'invalid filter status "deny=302"'),
    ('filter_rule r path =~ "x";', 'invalid filter operator "=~"'),
    ('filter_rule "r r" path ~ "x";', 'invalid filter rule name "r r"'),
    ('filter_log_level debug;', 'invalid value "debug"'),
])
def test_config_errors_name_file_and_line(ptc, rule, message):
    srv = ptc.prepare("server {\n listen 127.0.0.1:%PORT%;\n" + rule + "\n}")
    r = srv.cli("-t")
    assert r.returncode == 1, r.stderr
    assert message in r.stderr, r.stderr
    lines = srv.conf_path.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text == rule)
    assert "in %s:%d" % (srv.conf_path, line) in r.stderr, r.stderr


# ---------------------------------------------------------------------------
# a variable as the target: map results, client fingerprints, anything


def test_variable_target(ptc, backends):
    srv, _ = proxied(ptc, backends, 'filter_rule bots $bot ~ "^1$" deny=429;',
                     http='map $http_user_agent $bot { default 0; ~*crawler 1; }')
    assert raw_status(srv, "/", "User-Agent: friendly\r\n") == 200
    assert raw_status(srv, "/", "User-Agent: EvilCrawler/2\r\n") == 429
    # a variable that is not found is tested as an empty string
    srv2, _ = proxied(ptc, backends, 'filter_rule noref $http_referer !~ "." deny;')
    assert raw_status(srv2, "/") == 403
    assert raw_status(srv2, "/", "Referer: http://x/\r\n") == 200


def test_unknown_variable_target_is_a_config_error(ptc):
    srv = ptc.prepare("server { listen 127.0.0.1:%PORT%;\n"
                      'filter_rule r $no_such_var ~ "x"; }')
    r = srv.cli("-t")
    assert r.returncode == 1 and 'unknown "no_such_var" variable' in r.stderr, r.stderr
