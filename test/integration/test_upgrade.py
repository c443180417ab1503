"""Binary upgrade on the fly, nginx's procedure: USR2 makes the master rename
its pid file to PID.oldbin and run the binary again (same path, same argv),
handing its listening sockets over; WINCH stops the old workers; HUP to the
old master brings them back (rollback); QUIT to the old master ends it. The
binary is the same file, so the exec runs it again.

nginx changes its binary only when detached (`daemon on`; in the foreground
its parent is still the process that started it, and USR2 is refused) and
acts on WINCH only then, so these tests start a daemon and follow its
masters by pid."""
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (BAD_LOG_LEVELS, BIN, NAME, SANITIZER_MARKS, _children, build_request,
                      pid_alive, read_response, wait_for)

HELLO = 'return 200 "$pid";'


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


class Daemon:
    """A `daemon on` instance in its own prefix: run() returns once the binary
    forked and exited; the masters are found through the pid files."""

    def __init__(self, srv, argv0):
        self.srv = srv
        self.argv0 = argv0
        self.pid_path = srv.pid_path
        self.oldbin_path = srv.pid_path.with_name(srv.pid_path.name + ".oldbin")
        self.masters = set()
        self.allow_errors = False

    def run(self):
        cmd = [self.argv0] + self.srv._cmd()[1:]
        with open(self.srv.prefix / "stdout.log", "wb") as out, \
                open(self.srv.prefix / "stderr.log", "wb") as err:
            rc = subprocess.run(cmd, cwd=str(self.srv.prefix), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, timeout=10).returncode
        assert rc == 0, self.srv.stderr_text()
        assert wait_for(lambda: self.pid() and port_open(self.srv.port)), self.srv.error_log()
        return self.pid()

    def read(self, path):
        try:
            pid = int(path.read_text())
        except (OSError, ValueError):
            return None
        self.masters.add(pid)
        return pid

    def pid(self):
        return self.read(self.pid_path)

    def oldbin(self):
        return self.read(self.oldbin_path)

    def workers(self, master):
        """Children of master that are not masters themselves (a new master is
        a child of the old one)."""
        return {p for p, _ in _children(master)} - self.masters

    def upgrade(self, old):
        """USR2 to old; wait for the new master, its workers and the .oldbin file."""
        os.kill(old, signal.SIGUSR2)
        assert wait_for(lambda: self.oldbin() == old and self.pid() not in (None, old)), \
            self.srv.error_log()
        new = self.pid()
        assert wait_for(lambda: len(self.workers(new)) == self.nworkers), self.srv.error_log()
        return new

    @property
    def nworkers(self):
        m = re.search(r"worker_processes (\d+);", self.srv.conf_path.read_text())
        return int(m.group(1))

    def stop_all(self):
        self.pid()
        self.oldbin()
        mine = [p for p in self.masters if str(self.srv.prefix) in cmdline(p)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for p in mine:
                if pid_alive(p):
                    kids = [k for k, _ in _children(p)]
                    try:
                        os.kill(p, sig)
                        if sig == signal.SIGKILL:
                            for k in kids:
                                os.kill(k, sig)
                    except ProcessLookupError:
                        pass
            if wait_for(lambda: not any(pid_alive(p) for p in mine), timeout=5):
                return sig == signal.SIGTERM
        return False

    def problems(self):
        out = []
        log = self.srv.error_log() + self.srv.stderr_text()
        for mark in SANITIZER_MARKS:
            if mark in log:
                out.append("sanitizer report:\n" + log[-4000:])
        if not self.allow_errors:
            bad = [ln for ln in log.splitlines() if any(lv in ln for lv in BAD_LOG_LEVELS)]
            if bad:
                out.append("alert/crit/emerg lines:\n" + "\n".join(bad[:20]))
        return out


@pytest.fixture
def daemon(ptc):
    made = []

    def start(http, workers=1, files=None, ports=1, argv0=BIN):
        srv = ptc.prepare(http, workers=workers, files=files, ports=ports)
        srv.conf_path.write_text(srv.conf_path.read_text().replace("daemon off;", "daemon on;"))
        d = Daemon(srv, argv0)
        made.append(d)
        d.run()
        return d

    yield start
    problems = []
    for d in made:
        if not d.stop_all():
            problems.append("%s did not stop on SIGTERM" % NAME)
        problems += d.problems()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def served_by(srv, port=None):
    """The worker pid that answered one request on a new connection."""
    r = srv.get("/", port=port)
    assert r.status == 200, r
    return int(r.body)


def conf(extra="", unix=False):
    more = " listen unix:%PREFIX%/s.sock;" if unix else ""
    return ("server { listen 127.0.0.1:%PORT% " + extra + ";" + more + " location / { "
            + HELLO + " } }")


def unix_served_by(srv):
    """The worker pid that answered one request on the unix socket."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(str(srv.prefix / "s.sock"))
    try:
        s.sendall(build_request("/"))
        return int(read_response(s).body)
    finally:
        s.close()


class Load:
    """Requests in a loop while an upgrade goes on: one thread on new
    connections, one on a keep-alive connection (reconnecting when the server
    closes it). Bounded: stops at stop() or after 60 s."""

    def __init__(self, srv):
        self.srv = srv
        self.stop_ev = threading.Event()
        self.deadline = time.monotonic() + 60
        self.new_fail, self.ka_fail = [], []
        self.new_count = self.ka_count = 0
        self.pids = set()
        self.threads = [threading.Thread(target=self.new_loop, daemon=True),
                        threading.Thread(target=self.ka_loop, daemon=True)]

    def running(self):
        return not self.stop_ev.is_set() and time.monotonic() < self.deadline

    def __enter__(self):
        for t in self.threads:
            t.start()
        assert wait_for(lambda: self.new_count > 0 and self.ka_count > 0)
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=10)
        assert not any(t.is_alive() for t in self.threads)

    def progress(self):
        """Wait until both loops have made a few more requests."""
        counts = (self.new_count, self.ka_count)
        assert wait_for(lambda: self.new_count > counts[0] + 5 and self.ka_count > counts[1] + 5)

    def new_loop(self):
        while self.running():
            try:
                self.pids.add(served_by(self.srv))
                self.new_count += 1
            except Exception as e:
                self.new_fail.append(repr(e))

    def ka_loop(self):
        req = build_request("/", headers={"Connection": "keep-alive"})
        sock = None
        while self.running():
            if sock is not None and select.select([sock], [], [], 0)[0]:
                sock.close()  # closed by the server while idle
                sock = None
            try:
                sock = sock or self.srv.connect()
                sock.sendall(req)
                r = read_response(sock)
                assert r.status == 200, r
                self.ka_count += 1
            except Exception as e:
                self.ka_fail.append(repr(e))
                r = None
            if r is None or (r.header("Connection") or "").lower() == "close":
                if sock is not None:
                    sock.close()
                sock = None
        if sock is not None:
            sock.close()


def test_usr2_starts_a_second_master_and_both_serve(daemon):
    d = daemon(conf(), workers=2, ports=2)
    old = d.pid()
    old_workers = d.workers(old)
    ka = d.srv.connect()  # a kept-alive connection of an old worker
    ka.sendall(build_request("/", headers={"Connection": "keep-alive"}))
    first = int(read_response(ka).body)
    assert first in old_workers
    # the new binary reads the configuration anew: it also listens on a second port
    text = d.srv.conf_path.read_text()
    d.srv.conf_path.write_text(text.replace("http {", "http {\n" + conf().replace(
        "%PORT%", str(d.srv.ports[1])), 1))
    assert not port_open(d.srv.ports[1])
    new = d.upgrade(old)
    assert d.pid_path.read_text() == "%d\n" % new
    assert d.oldbin_path.read_text() == "%d\n" % old
    assert os.getppid() != new and (new, ) == tuple(p for p, _ in _children(old) if p == new)
    new_workers = d.workers(new)
    assert d.workers(old) == old_workers and len(new_workers) == 2
    # the old worker still serves its connection; the new workers serve the
    # new port; the inherited port is served by all (which worker takes a new
    # connection there is up to the kernel)
    ka.sendall(build_request("/", headers={"Connection": "keep-alive"}))
    assert int(read_response(ka).body) == first
    ka.close()
    assert {served_by(d.srv, d.srv.ports[1]) for _ in range(5)} <= new_workers
    assert {served_by(d.srv) for _ in range(5)} <= old_workers | new_workers
    assert "SIGUSR2" in d.srv.error_log()


@pytest.mark.parametrize("listen", ["", "reuseport"])
def test_full_upgrade_under_load_fails_no_request(daemon, listen):
    d = daemon(conf(listen, unix=True), workers=2)
    old = d.pid()
    with Load(d.srv) as load:
        new = d.upgrade(old)
        load.progress()
        os.kill(old, signal.SIGWINCH)
        assert wait_for(lambda: not d.workers(old)), "old workers did not stop"
        assert pid_alive(old) and d.oldbin() == old
        load.progress()
        new_workers = d.workers(new)
        assert all(served_by(d.srv) in new_workers for _ in range(10))
        os.kill(old, signal.SIGQUIT)
        assert wait_for(lambda: not pid_alive(old)), "old master did not exit"
        assert wait_for(lambda: not d.oldbin_path.exists())
        load.progress()
    assert load.new_fail == []
    assert d.pid() == new and d.workers(new) == new_workers
    assert unix_served_by(d.srv) in new_workers
    if NAME == "portico":
        # nginx closes idle keep-alive connections of stopping workers without
        # warning, so a request sent at that moment fails now and then
        assert load.ka_fail == []


def test_rollback_hup_old_master_then_quit_new(daemon):
    d = daemon(conf(unix=True), workers=2)
    old = d.pid()
    new = d.upgrade(old)
    with Load(d.srv) as load:
        os.kill(old, signal.SIGWINCH)
        assert wait_for(lambda: not d.workers(old))
        # the stopped workers are not respawned while the new binary serves
        assert not wait_for(lambda: d.workers(old), timeout=1.0)
        os.kill(old, signal.SIGHUP)
        assert wait_for(lambda: len(d.workers(old)) == 2), d.srv.error_log()
        back = d.workers(old)
        os.kill(new, signal.SIGQUIT)
        assert wait_for(lambda: not pid_alive(new)), "new master did not exit"
        assert wait_for(lambda: d.pid() == old and not d.oldbin_path.exists())
        load.progress()
    assert load.new_fail == []
    assert d.workers(old) == back
    assert all(served_by(d.srv) in back for _ in range(5))
    assert unix_served_by(d.srv) in back  # the new master left the socket file alone


def test_quitting_the_new_master_after_winch_brings_old_workers_back(daemon):
    d = daemon(conf(), workers=1)
    old = d.pid()
    new = d.upgrade(old)
    os.kill(old, signal.SIGWINCH)
    assert wait_for(lambda: not d.workers(old))
    os.kill(new, signal.SIGQUIT)
    assert wait_for(lambda: len(d.workers(old)) == 1), d.srv.error_log()
    assert d.pid() == old and not d.oldbin_path.exists()
    assert served_by(d.srv) in d.workers(old)


def test_new_binary_with_a_broken_config_exits_and_old_keeps_serving(daemon):
    d = daemon(conf(), workers=2)
    old = d.pid()
    workers = d.workers(old)
    d.allow_errors = True
    text = d.srv.conf_path.read_text()
    d.srv.conf_path.write_text(text.replace("events {", "bogus_directive 1;\nevents {"))
    os.kill(old, signal.SIGUSR2)
    pattern = r'\[emerg\] (\d+)#\d+: unknown directive "bogus_directive"'
    assert wait_for(lambda: re.search(pattern, d.srv.error_log())), d.srv.error_log()
    failed = int(re.search(pattern, d.srv.error_log()).group(1))
    assert failed != old
    assert wait_for(lambda: not pid_alive(failed))
    assert wait_for(lambda: d.pid() == old and not d.oldbin_path.exists()), d.srv.error_log()
    assert d.workers(old) == workers
    assert served_by(d.srv) in workers
    # a later, good upgrade still works
    d.srv.conf_path.write_text(text)
    new = d.upgrade(old)
    assert new not in (old, failed)


def test_binary_that_cannot_be_executed_restores_the_pid_file(daemon, tmp_path):
    link = tmp_path / "bin-link"
    os.symlink(BIN, link)
    d = daemon(conf(), argv0=str(link))
    old = d.pid()
    d.allow_errors = True  # the failed exec is logged at alert
    os.unlink(link)
    os.symlink(str(tmp_path / "no-such-binary"), link)
    os.kill(old, signal.SIGUSR2)
    assert wait_for(lambda: "SIGUSR2" in d.srv.error_log())
    assert wait_for(lambda: re.search(r"\[alert\].*exec", d.srv.error_log())), d.srv.error_log()
    assert wait_for(lambda: d.pid() == old and not d.oldbin_path.exists())
    assert {p for p, _ in _children(old)} == d.workers(old) and len(d.workers(old)) == 1
    assert served_by(d.srv) in d.workers(old)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    t = tmp_path_factory.mktemp("upcert")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(t / "k.pem"),
                    "-out", str(t / "c.pem"), "-days", "2", "-subj", "/CN=up.test"],
                   check=True, capture_output=True)
    return (t / "c.pem").read_text(), (t / "k.pem").read_text()


def tls_pid(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="up.test") as t:
            t.sendall(build_request("/"))
            return int(read_response(t).body)


def test_tls_listener_survives_the_upgrade(daemon, cert):
    d = daemon("server { listen 127.0.0.1:%PORT% ssl; ssl_certificate up.crt; "
               "ssl_certificate_key up.key; location / { " + HELLO + " } }",
               files={"conf/up.crt": cert[0], "conf/up.key": cert[1]})
    old = d.pid()
    assert tls_pid(d.srv.port) in d.workers(old)
    new = d.upgrade(old)
    os.kill(old, signal.SIGWINCH)
    assert wait_for(lambda: not d.workers(old))
    assert tls_pid(d.srv.port) in d.workers(new)
    os.kill(old, signal.SIGQUIT)
    assert wait_for(lambda: not pid_alive(old))
    assert all(tls_pid(d.srv.port) in d.workers(new) for _ in range(3))


def test_a_new_master_can_be_upgraded_once_the_old_one_is_gone(daemon):
    d = daemon(conf())
    first = d.pid()
    second = d.upgrade(first)
    os.kill(first, signal.SIGQUIT)
    assert wait_for(lambda: not pid_alive(first) and not d.oldbin_path.exists())
    third = d.upgrade(second)
    assert third not in (first, second) and d.oldbin() == second
    os.kill(second, signal.SIGQUIT)
    assert wait_for(lambda: not pid_alive(second) and not d.oldbin_path.exists())
    assert d.pid() == third and served_by(d.srv) in d.workers(third)


def test_second_usr2_is_ignored_while_two_masters_run(daemon):
    d = daemon(conf())
    old = d.pid()
    new = d.upgrade(old)
    family = {old: {p for p, _ in _children(old)}, new: {p for p, _ in _children(new)}}
    assert len(family[new]) == 1 and len(family[old]) == 2  # a worker each, and new
    d.allow_errors = NAME == "nginx"  # nginx says so at crit
    os.kill(new, signal.SIGUSR2)
    os.kill(old, signal.SIGUSR2)
    assert wait_for(lambda: d.srv.error_log().count("SIGUSR2") >= 3)
    # no third master appears as a child of either
    assert not wait_for(lambda: any({p for p, _ in _children(m)} != family[m] for m in family),
                        timeout=1.0)
    assert d.pid() == new and d.oldbin() == old


def test_usr2_is_ignored_in_the_foreground(ptc):
    """daemon off: the master's parent would not know the new master."""
    srv = ptc.start(conf())
    srv.allow_log_errors()  # nginx says so at crit
    workers = srv.worker_pids()
    os.kill(srv.proc.pid, signal.SIGUSR2)
    assert srv.wait_for(lambda: "SIGUSR2" in srv.error_log())
    assert not srv.wait_for(lambda: srv.worker_pids() != workers, timeout=1.0)
    assert not (srv.prefix / "logs" / "test.pid.oldbin").exists()
    assert srv.master_pid == srv.proc.pid and served_by(srv) in workers


def test_usr2_is_ignored_with_master_process_off(ptc):
    srv = ptc.prepare(conf(), workers=None)
    text = srv.conf_path.read_text()
    srv.conf_path.write_text(text.replace("master_process on;", "master_process off;"))
    srv._launch(())
    srv._wait_ready()
    os.kill(srv.proc.pid, signal.SIGUSR2)
    assert srv.wait_for(lambda: "SIGUSR2" in srv.error_log())
    assert not srv.wait_for(lambda: _children(srv.proc.pid), timeout=1.0)
    assert not (srv.prefix / "logs" / "test.pid.oldbin").exists()
    assert served_by(srv) == srv.proc.pid
    if NAME == "nginx":
        srv.allow_log_errors()  # in the foreground nginx refuses at crit
    else:
        assert re.search(r'\[notice\] .*SIGUSR2.*ignored.*master_process on', srv.error_log())


@pytest.mark.portico_only
def test_winch_is_ignored_in_the_foreground(ptc):
    """A foreground master gets WINCH when its terminal is resized."""
    srv = ptc.start(conf())
    workers = srv.worker_pids()
    os.kill(srv.proc.pid, signal.SIGWINCH)
    assert srv.wait_for(lambda: re.search(r"\[notice\] .*SIGWINCH.*ignored", srv.error_log()))
    assert srv.worker_pids() == workers and served_by(srv) in workers


@pytest.mark.portico_only
def test_new_master_checks_each_inherited_descriptor(ptc, tmp_path):
    """Started by hand with PORTICO_LISTEN: a listening socket of the
    configuration is used, one that is not is closed, a connected socket is
    closed, anything that is not a socket is left alone."""
    srv = ptc.prepare(conf(), ports=2)
    used = socket.socket()
    used.bind(("127.0.0.1", srv.ports[0]))
    used.listen(16)
    extra = socket.socket()
    extra.bind(("127.0.0.1", srv.ports[1]))
    extra.listen(16)
    peer = socket.create_server(("127.0.0.1", 0))
    conn = socket.create_connection(peer.getsockname())
    plain = open(tmp_path / "plain.txt", "w")
    fds = [used.fileno(), extra.fileno(), conn.fileno(), plain.fileno()]
    env = dict(os.environ, PORTICO_LISTEN="%d;%d;%d;%d;x1;2;%d" % (*fds, used.fileno()))
    with open(srv.prefix / "stdout.log", "wb") as out, \
            open(srv.prefix / "stderr.log", "wb") as err:
        srv.proc = subprocess.Popen(srv._cmd(), cwd=str(srv.prefix), env=env, pass_fds=fds,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    for s in (used, extra, conn):
        s.close()
    plain.close()
    other = srv.ports[1]
    srv.ports = srv.ports[:1]  # the configuration listens on the first only
    srv._wait_ready()
    log = srv.error_log()
    assert "using inherited listening socket 127.0.0.1:%d (fd %d)" % (srv.port, fds[0]) in log
    assert ("closing inherited socket 127.0.0.1:%d (fd %d): not in the configuration"
            % (other, fds[1])) in log, log
    assert re.search(r'ignoring "%d": not a listening socket, closed' % fds[2], log), log
    assert re.search(r'ignoring "%d": not a socket$' % fds[3], log, re.M), log
    assert re.search(r'ignoring "x1": not a descriptor number', log), log
    assert re.search(r'ignoring "2": a standard stream', log), log
    assert re.search(r'ignoring "%d": listed twice' % fds[0], log), log
    # the server holds the only copy of the first socket; the second is gone
    assert served_by(srv) in srv.worker_pids()
    assert not port_open(other)
    peer.close()
