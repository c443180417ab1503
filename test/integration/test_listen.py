"""Listening sockets: IPv6, unix sockets, wildcard plus specific addresses
on one port, reuseport, daemon mode and bind errors."""
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import BIN, NAME, build_request, parse_response, pid_alive, read_response


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def request_on(sock, path="/"):
    sock.sendall(build_request(path))
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    return parse_response(data)


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_listen(ptc):
    srv = ptc.start("""
        server {
            listen 127.0.0.1:%PORT%;
            listen 127.0.0.1:%PORT2%;  # the harness checks readiness over IPv4
            listen [::1]:%PORT2%;
            location / { return 200 "$server_addr $remote_addr $server_port"; }
        }
    """, ports=2)
    s = socket.create_connection(("::1", srv.ports[1]), timeout=5)
    resp = request_on(s)
    assert resp.status == 200
    assert resp.body == ("::1 ::1 %d" % srv.ports[1]).encode()


def test_specific_address_wins_over_wildcard_on_same_port(ptc):
    srv = ptc.start("""
        server { listen %PORT%; location / { return 200 "wildcard"; } }
        server { listen 127.0.0.1:%PORT%; location / { return 200 "specific"; } }
    """)
    resp = request_on(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
    assert resp.body == b"specific"
    resp = request_on(socket.create_connection(("127.0.0.2", srv.port), timeout=5))
    assert resp.body == b"wildcard"


def test_unix_socket_listen(ptc):
    srv = ptc.start("""
        server {
            listen 127.0.0.1:%PORT%;
            listen unix:%PREFIX%/http.sock;
            location / { return 200 "unix [$remote_addr]"; }
        }
    """)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(srv.prefix / "http.sock"))
    resp = request_on(s)
    assert resp.status == 200
    assert resp.body == b"unix [unix:]"


def test_reuseport_spreads_connections_over_workers(ptc):
    srv = ptc.start("""
        server { listen 127.0.0.1:%PORT% reuseport backlog=64 rcvbuf=64k sndbuf=64k;
                 location / { return 200 "$pid"; } }
    """, workers=2)
    assert srv.wait_for(lambda: len(srv.worker_pids()) == 2)
    seen = set()
    for _ in range(200):
        seen.add(int(srv.get("/").body))
        if len(seen) == 2:
            break
    assert seen == set(srv.worker_pids())


def test_reload_keeps_reuseport_sockets(ptc):
    srv = ptc.start("""
        server { listen 127.0.0.1:%PORT% reuseport; location / { return 200 "one"; } }
    """, workers=2)
    assert srv.get("/").body == b"one"
    old = set(srv.worker_pids())
    srv.reload('server { listen 127.0.0.1:%PORT% reuseport; location / { return 200 "two"; } }')
    assert srv.wait_for(lambda: srv.get("/").body == b"two")
    assert srv.wait_for(lambda: not (set(srv.worker_pids()) & old))
    for _ in range(20):
        assert srv.get("/").body == b"two"


def test_bind_error_names_the_address(ptc):
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        srv = ptc.start("server { listen 127.0.0.1:%d; }" % port, expect_fail=True)
        assert srv.returncode == 1
        err = srv.stderr_text()
        assert re.search(r"\[emerg\] bind\(\) to 127\.0\.0\.1:%d failed \(98: Address already "
                         r"in use\)" % port, err), err
        assert not srv.pid_path.exists()
    finally:
        busy.close()


@pytest.mark.parametrize("conf, message", [
    ("server { listen 127.0.0.1:%PORT%; listen 127.0.0.1:%PORT%; }",
     r"a duplicate listen 127\.0\.0\.1:\d+ in \S+:3"),
    ("server { listen 127.0.0.1:%PORT% default_server; }\n"
     "server { listen 127.0.0.1:%PORT% default_server; }",
     r"a duplicate default server for 127\.0\.0\.1:\d+ in \S+:4"),
    ("server { listen 127.0.0.1:%PORT% bogus; }", r'invalid parameter "bogus" in \S+:3'),
    ("server { listen 127.0.0.1:99999; }", r'invalid port in "127\.0\.0\.1:99999" of the '
                                           r'"listen" directive in \S+:3'),
    ("server { listen 127.0.0.1:%PORT% ssl; }",
     r'no "ssl_certificate" is defined for the "listen \.\.\. ssl" directive in \S+:3'),
])
def test_listen_errors(ptc, conf, message):
    srv = ptc.prepare(raw="events {}\nhttp {\n" + conf + "\n}\n")
    r = srv.cli("-t")
    assert r.returncode == 1
    assert re.search(message, r.stderr), r.stderr


@pytest.mark.skipif(NAME == "nginx", reason="nginx daemon needs its own pid/log setup")
def test_daemon_on_detaches_and_serves(ptc):
    srv = ptc.prepare("server { listen 127.0.0.1:%PORT%; location / { return 200 daemon; } }")
    text = srv.conf_path.read_text().replace("daemon off;", "daemon on;")
    srv.conf_path.write_text(text)
    began = time.monotonic()
    r = subprocess.run([BIN, "-p", str(srv.prefix) + "/", "-c", "conf/test.conf"],
                       cwd=srv.prefix, capture_output=True, timeout=10)
    assert r.returncode == 0 and time.monotonic() - began < 5
    assert r.stdout == b""
    pid_file = srv.prefix / "logs" / "test.pid"
    try:
        assert srv.wait_for(pid_file.exists)
        pid = int(pid_file.read_text())
        assert pid_alive(pid)
        assert os.getsid(pid) == pid  # its own session: detached from ours
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(build_request("/"))
        assert read_response(s).body == b"daemon"
        s.close()
    finally:
        subprocess.run([BIN, "-p", str(srv.prefix) + "/", "-c", "conf/test.conf", "-s", "stop"],
                       cwd=srv.prefix, timeout=10)
    assert srv.wait_for(lambda: not pid_alive(pid))
    assert not pid_file.exists()


def test_missing_events_block_is_an_error(ptc):
    srv = ptc.prepare(raw="http { server { listen 127.0.0.1:%PORT%; } }\n")
    r = srv.cli("-t")
    assert r.returncode == 1
    assert 'no "events" section in configuration' in r.stderr, r.stderr


def test_default_root_is_html_under_the_prefix(ptc):
    """Without any root the files come from PREFIX/html, wherever the
    server was started from."""
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; }", files={"html/x.txt": "in prefix\n"},
                    cwd="/")
    assert srv.get("/x.txt").body == b"in prefix\n"
