"""Error log line format and levels; access log formats, variables, buffering, off."""

import os
import datetime
import re
import time

import pytest

from backend import Backends
from conftest import build_request, read_response

LEVELS = ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"]
ERROR_LINE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[(%s)\] (\d+)#\d+: "
                        % "|".join(LEVELS))
TIME_LOCAL = r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}"


def test_error_log_line_format(ptc):
    srv = ptc.start("""
        server {
            listen 127.0.0.1:%PORT%;
            server_name main.test;
            root html;
            error_log logs/e2.log debug;
            error_log logs/crit.log crit;
        }
    """)
    r = srv.get("/missing")
    assert r.status == 404
    missing = srv.prefix / "html" / "missing"
    want = re.compile(
        r'^\S+ \S+ \[error\] (\d+)#\d+: \*\d+ open\(\) "%s" failed '
        r'\(2: No such file or directory\), client: 127\.0\.0\.1, server: main\.test, '
        r'request: "GET /missing HTTP/1\.1", host: "localhost"$' % re.escape(str(missing)), re.M)
    e2 = srv.prefix / "logs" / "e2.log"
    assert srv.wait_for(lambda: want.search(e2.read_text())), e2.read_text()
    text = e2.read_text()
    assert int(want.search(text).group(1)) in srv.worker_pids()
    lines = text.splitlines()
    assert len(lines) > 1 and " [debug] " in text
    level = None
    for line in lines:
        m = ERROR_LINE.match(line)
        # only a debug record may span lines (nginx dumps the response header there)
        assert m or level == "debug", line
        level = m.group(1) if m else level
    assert "open()" not in srv.access_log("crit.log")
    assert "open()" not in srv.error_log()  # the server's error_log replaces the main one


HELLO_HTTP = 'server {\n    listen 127.0.0.1:%PORT%;\n    location / { return 200 "hello"; }\n}\n'


@pytest.mark.parametrize("level", LEVELS)
def test_every_error_log_level_is_accepted(ptc, level):
    http = """
        error_log logs/http.log {0};
        server {{
            listen 127.0.0.1:%PORT%;
            error_log logs/server.log {0};
            location / {{ error_log logs/location.log {0}; return 200 "hello"; }}
        }}
    """.format(level)
    srv = ptc.prepare(http, main="error_log logs/main.log %s;" % level)
    r = srv.cli("-t")
    assert r.returncode == 0, r.stderr
    srv = ptc.start(http, main="error_log logs/main.log %s;" % level)
    assert srv.get("/").body == b"hello"


def test_unknown_error_log_level_is_rejected(ptc):
    srv = ptc.prepare(HELLO_HTTP, main="error_log logs/x.log loud;")
    r = srv.cli("-t")
    assert r.returncode == 1
    assert 'invalid log level "loud"' in r.stderr


def test_default_access_log_is_combined(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; root html; }")
    r = srv.get("/x", headers={"Referer": "http://ref.example/page", "User-Agent": "ua/1.0 (t)"})
    assert r.status == 404
    line_re = re.compile(r'^127\.0\.0\.1 - - \[%s\] "GET /x HTTP/1\.1" 404 %d '
                         r'"http://ref\.example/page" "ua/1\.0 \(t\)"$' % (TIME_LOCAL, len(r.body)))
    assert srv.wait_for(lambda: srv.access_log().strip())
    assert line_re.match(srv.access_log()), srv.access_log()
    assert srv.access_log().count("\n") == 1


VARS = ["remote_addr", "remote_user", "time_local", "time_iso8601", "request", "request_method",
        "request_uri", "uri", "args", "status", "body_bytes_sent", "bytes_sent", "http_x_test",
        "host", "server_name", "request_time", "connection", "connection_requests", "msec",
        "pid"]


def near_now(ts):
    return abs(ts - time.time()) < 120


def test_log_format_variables_on_keepalive_connection(ptc):
    fmt = "|".join("$" + v for v in VARS)
    srv = ptc.start("""
        log_format all '%s';
        server {
            listen 127.0.0.1:%%PORT%%;
            server_name main.test alias.test;
            access_log logs/vars.log all;
            location / { return 200 "hello"; }
        }
    """ % fmt)
    s = srv.connect()
    s.sendall(build_request("/a%20b/c?x=1&y=2", host="Www.Example.COM:8080",
                            headers={"Connection": "keep-alive", "X-Test": "one",
                                     "Authorization": "Basic dXNlcjpwYXNz"}))
    r1 = read_response(s)
    s.sendall(build_request("/second", method="POST", body="abc",
                            headers={"Connection": "keep-alive"}))
    r2 = read_response(s)
    s.close()
    assert (r1.body, r2.body) == (b"hello", b"hello")
    assert srv.wait_for(lambda: srv.access_log("vars.log").count("\n") == 2)
    l1, l2 = [dict(zip(VARS, ln.split("|"))) for ln in srv.access_log("vars.log").splitlines()]

    assert l1["remote_addr"] == l2["remote_addr"] == "127.0.0.1"
    assert (l1["remote_user"], l2["remote_user"]) == ("user", "-")
    for entry in (l1, l2):
        local = datetime.datetime.strptime(entry["time_local"], "%d/%b/%Y:%H:%M:%S %z")
        assert near_now(local.timestamp())
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", entry["time_iso8601"])
        iso = datetime.datetime.fromisoformat(entry["time_iso8601"])
        assert abs(iso.timestamp() - local.timestamp()) <= 1
        assert re.fullmatch(r"\d+\.\d{3}", entry["request_time"])
        assert re.fullmatch(r"\d+\.\d{3}", entry["msec"]) and near_now(float(entry["msec"]))
        assert entry["status"] == "200" and entry["body_bytes_sent"] == "5"
        assert entry["server_name"] == "main.test"
        assert int(entry["pid"]) in srv.worker_pids()
    assert l1["request"] == "GET /a%20b/c?x=1&y=2 HTTP/1.1"
    assert l2["request"] == "POST /second HTTP/1.1"
    assert (l1["request_method"], l2["request_method"]) == ("GET", "POST")
    assert (l1["request_uri"], l2["request_uri"]) == ("/a%20b/c?x=1&y=2", "/second")
    assert (l1["uri"], l2["uri"]) == ("/a b/c", "/second")
    assert (l1["args"], l2["args"]) == ("x=1&y=2", "-")
    assert (l1["bytes_sent"], l2["bytes_sent"]) == (str(len(r1.raw)), str(len(r2.raw)))
    assert (l1["http_x_test"], l2["http_x_test"]) == ("one", "-")
    assert (l1["host"], l2["host"]) == ("www.example.com", "localhost")
    assert re.fullmatch(r"\d+", l1["connection"]) and l1["connection"] == l2["connection"]
    assert (l1["connection_requests"], l2["connection_requests"]) == ("1", "2")


def test_buffered_access_log_is_complete_after_quit(ptc):
    srv = ptc.start("""
        server {
            listen 127.0.0.1:%PORT%;
            access_log logs/buf.log combined buffer=32k;
            location / { return 200 "hello"; }
        }
    """)
    for i in range(3):
        assert srv.get("/r%d" % i).status == 200
    assert srv.access_log("buf.log") == ""  # held in the 32k buffer
    srv.stop()
    assert srv.returncode == 0
    lines = srv.access_log("buf.log").splitlines()
    assert [ln.split('"')[1] for ln in lines] == ["GET /r%d HTTP/1.1" % i for i in range(3)]


def test_access_log_off(ptc):
    srv = ptc.start("""
        server {
            listen 127.0.0.1:%PORT%;
            location /off { access_log off; return 200 "off"; }
            location /on { return 200 "on"; }
        }
    """)
    assert srv.get("/off").body == b"off"
    assert srv.get("/on").body == b"on"
    assert srv.wait_for(lambda: "GET /on " in srv.access_log())
    assert "/off" not in srv.access_log()
    assert srv.access_log().count("\n") == 1


@pytest.mark.parametrize("where", ["before", "after",
                                   pytest.param("default", marks=pytest.mark.portico_only)])
def test_request_errors_go_to_the_main_error_log(ptc, where):
    """Wherever the main-level error_log line stands (or with none at all,
    logs/error.log), request-time errors land there and never on stderr."""
    line = "error_log logs/main.log info;\n"
    http = "http {\n server { listen 127.0.0.1:%PORT%; root html; }\n}\n"
    raw = "daemon off;\npid logs/test.pid;\nevents {}\n"
    raw += {"before": line + http, "after": http + line, "default": http}[where]
    if os.geteuid() == 0:
        raw = "user root;\n" + raw
    srv = ptc.start(raw=raw)
    assert srv.get("/missing").status == 404
    log = srv.prefix / "logs" / ("error.log" if where == "default" else "main.log")
    assert srv.wait_for(lambda: log.exists() and "open()" in log.read_text())
    assert "open()" not in srv.stderr_text()


@pytest.mark.parametrize("extra_header_len, body, counted", [
    (0, b"", True), (3000, b"", True),
    (0, b"x" * 300, False),  # a static file's handler discards the body: not counted
    (0, b"x" * 300, True),   # a proxied body is read and counted
])
def test_request_length(ptc, extra_header_len, body, counted):
    """$request_length counts the request line, the headers (also when they
    spill into large_client_header_buffers) and the body that was read."""
    with Backends() as bs:
        b = bs.new()
        where = "root html;" if not body or not counted else "proxy_pass http://%s;" % b.addr
        srv = ptc.start("log_format rl '$request_length'; "
                        "server { listen 127.0.0.1:%PORT%; client_header_buffer_size 1k; "
                        "large_client_header_buffers 4 8k; access_log logs/rl.log rl; "
                        "location / { " + where + " } }",
                        files={"html/f": "f"})
        head = "POST /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        if extra_header_len:
            head += "X-Big: %s\r\n" % ("a" * extra_header_len)
        if body:
            head += "Content-Length: %d\r\n" % len(body)
        data = head.encode() + b"\r\n" + body
        srv.raw(data)
        assert srv.wait_for(lambda: srv.access_log("rl.log").strip() != "")
        want = len(data) if counted else len(data) - len(body)
        assert int(srv.access_log("rl.log").strip()) == want


def test_pipe_marks_pipelined_requests(ptc):
    srv = ptc.start("log_format p '$pipe'; server { listen 127.0.0.1:%PORT%; "
                    "access_log logs/p.log p; location / { return 200 ok; } }")
    one = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    srv.raw(one + one + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert srv.wait_for(lambda: len(srv.access_log("p.log").split()) == 3)
    assert srv.access_log("p.log").split() == [".", "p", "p"]
