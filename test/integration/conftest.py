"""Integration test harness: start the real binary on loopback and talk raw bytes to it.

Tests are written against nginx's behaviour; run them against Debian's nginx with
PTC_BIN=/usr/sbin/nginx to validate an expectation. Standard library + pytest only.

API (see the harness brief): BIN, NAME, free_port(), wait_for(), parse_response(),
read_response(), the `ptc` fixture (ptc.start(...) -> Server) and the Server class.
"""

import os
import re
import pathlib
import shutil
import signal as _signal
import socket
import subprocess
import time
import weakref

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.path.abspath(os.environ.get("PTC_BIN") or str(REPO / "objs" / "portico"))
NAME = "nginx" if os.path.basename(BIN).startswith("nginx") else "portico"

START_TIMEOUT = 10.0
POLL = 0.02
BAD_LOG_LEVELS = ("[alert]", "[crit]", "[emerg]")
SANITIZER_MARKS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")


# ---------------------------------------------------------------------------
# pytest hooks


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "portico_only: Portico behaviour that deliberately differs from nginx")
    config.addinivalue_line(
        "markers", "needs_module(name): skipped when `-V` disowns the module "
        "(e.g. \"http_proxy\" while it prints --without-http_proxy_module)")


def disowned_modules():
    """Module names the binary's -V lists as --without-NAME_module."""
    try:
        out = subprocess.run([BIN, "-V"], capture_output=True, text=True, timeout=10).stderr
    except OSError:
        return set()
    return set(re.findall(r"--without-(\w+)_module", out))


def pytest_collection_modifyitems(config, items):
    disowned = disowned_modules()
    for item in items:
        for mark in item.iter_markers("needs_module"):
            if mark.args[0] in disowned:
                item.add_marker(pytest.mark.skip(
                    reason="%s binary is built without the %s module" % (NAME, mark.args[0])))
    if NAME != "nginx":
        return
    skip = pytest.mark.skip(reason="portico-only behaviour (PTC_BIN is nginx)")
    for item in items:
        if "portico_only" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------------------
# small helpers


def free_port():
    """An int TCP port that is free on 127.0.0.1 right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _free_ports(n):
    """n distinct free ports (sockets are held until all are chosen)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def wait_for(predicate, timeout=10.0, interval=POLL):
    """Poll predicate() until it is truthy (True) or timeout passes (False).

    An exception raised by the predicate counts as "not yet".
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _read_text(path):
    try:
        return pathlib.Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _proc_stat(pid):
    """(ppid, starttime) of pid from /proc, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    # fields[0] is state (field 3); ppid is field 4; starttime is field 22
    if fields[0] == b"Z":
        return None
    return int(fields[1]), int(fields[19])


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    return _proc_stat(pid) is not None


def _children(pid):
    """[(child_pid, starttime)] of live children of pid."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = _proc_stat(int(entry))
        if st is not None and st[0] == pid:
            out.append((int(entry), st[1]))
    return out


# ---------------------------------------------------------------------------
# HTTP response parsing


class Response:
    """One parsed HTTP response."""

    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []
        self.body = b""
        self.trailers = []
        self.raw = b""
        self.chunked = False

    def header(self, name):
        """First value of header `name` (case-insensitive), or None."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        """Every value of header `name` (case-insensitive), in order."""
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %s %d %r, %d header(s), %d body byte(s)>" % (
            self.version, self.status, self.reason, len(self.headers), len(self.body))


class IncompleteResponse(ValueError):
    """The bytes do not (yet) hold a complete response."""


def _parse_head(data):
    """Parse status line + headers. Returns (Response, offset of body) or raises
    IncompleteResponse."""
    end = data.find(b"\r\n\r\n")
    sep = 4
    lf_end = data.find(b"\n\n")
    if lf_end != -1 and (end == -1 or lf_end < end):
        end, sep = lf_end, 2
    if end == -1:
        raise IncompleteResponse("no end of headers")
    lines = data[:end].replace(b"\r\n", b"\n").split(b"\n")
    status_line = lines[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError("bad status line %r" % status_line)
    resp = Response()
    resp.version = parts[0]
    resp.status = int(parts[1])
    resp.reason = parts[2] if len(parts) > 2 else ""
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        resp.headers.append((name, value.strip(" \t")))
    return resp, end + sep


def _dechunk(data, pos):
    """Decode a chunked body starting at pos. Returns (body, trailers, end offset)."""
    body = []
    while True:
        eol = data.find(b"\n", pos)
        if eol == -1:
            raise IncompleteResponse("chunk size line")
        size_text = data[pos:eol].split(b";")[0].strip()
        size = int(size_text, 16)
        pos = eol + 1
        if size == 0:
            break
        if len(data) < pos + size + 1:
            raise IncompleteResponse("chunk data")
        body.append(data[pos:pos + size])
        pos += size
        if data[pos:pos + 2] == b"\r\n":
            pos += 2
        elif data[pos:pos + 1] == b"\n":
            pos += 1
        else:
            raise IncompleteResponse("chunk end") if len(data) < pos + 2 else \
                ValueError("bad chunk terminator")
    trailers = []
    while True:
        eol = data.find(b"\n", pos)
        if eol == -1:
            raise IncompleteResponse("trailers")
        line = data[pos:eol].rstrip(b"\r")
        pos = eol + 1
        if not line:
            break
        name, _, value = line.decode("latin-1").partition(":")
        trailers.append((name, value.strip(" \t")))
    return b"".join(body), trailers, pos


def _parse_one(data, head=False, eof=True):
    """Parse one response (skipping 1xx interim responses except 101).

    Returns (Response, consumed bytes). eof=True means data is everything the peer
    will send (a close-delimited body ends at the end of data); otherwise a
    close-delimited body raises IncompleteResponse.
    """
    start = 0
    while True:
        resp, pos = _parse_head(data[start:])
        pos += start
        if 100 <= resp.status < 200 and resp.status != 101:
            start = pos
            continue
        break
    te = (resp.header("Transfer-Encoding") or "").lower()
    cl = resp.header("Content-Length")
    if head or resp.status in (101, 204, 304) or 100 <= resp.status < 200:
        end = pos
    elif "chunked" in te:
        resp.chunked = True
        resp.body, resp.trailers, end = _dechunk(data, pos)
    elif cl is not None:
        end = pos + int(cl.strip())
        if len(data) < end:
            raise IncompleteResponse("body")
        resp.body = data[pos:end]
    else:
        if not eof:
            raise IncompleteResponse("close-delimited body")
        end = len(data)
        resp.body = data[pos:]
    resp.raw = data[:end]
    return resp, end


def parse_response(data, head=False):
    """Parse a complete response from bytes (Content-Length, chunked or
    close-delimited body; head=True: no body)."""
    return _parse_one(data, head=head, eof=True)[0]


_LEFTOVER = weakref.WeakKeyDictionary()


def read_response(sock, head=False, timeout=5.0):
    """Read exactly one response from a (keep-alive) socket.

    Bytes received beyond that response are kept for the next call on the same
    socket. Raises TimeoutError if no complete response arrives within timeout,
    ConnectionError if the peer closes before a complete response.
    """
    data = _LEFTOVER.pop(sock, b"")
    deadline = time.monotonic() + timeout
    eof = False
    while True:
        if data:
            try:
                resp, used = _parse_one(data, head=head, eof=eof)
            except IncompleteResponse:
                if eof:
                    raise ConnectionError("connection closed in the middle of a response: %r"
                                          % data[:300])
            else:
                if data[used:]:
                    _LEFTOVER[sock] = data[used:]
                return resp
        elif eof:
            raise ConnectionError("connection closed before any response byte")
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete response within %.1fs: %r" % (timeout, data[:300]))
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            eof = True
        data += chunk


def build_request(path="/", *, method="GET", headers=None, body=None, host="localhost",
                  version="1.1"):
    """Request bytes as Server.get() sends them."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    names = {k.lower() for k, _ in headers}
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s HTTP/%s" % (method, path, version)]
    if host is not None and "host" not in names:
        lines.append("Host: %s" % host)
    if "connection" not in names:
        lines.append("Connection: close")
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(body))
    lines += ["%s: %s" % (k, v) for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


# ---------------------------------------------------------------------------
# the server under test


def _default_conf(http, main, events, workers):
    lines = ["daemon off;", "master_process on;"]
    if workers is not None:
        lines.append("worker_processes %s;" % workers)
    lines += ["error_log logs/error.log info;", "pid logs/test.pid;"]
    if os.geteuid() == 0:
        lines.append("user root;")
    lines.append(main or "")
    lines.append("events { worker_connections 1024; %s }" % (events or ""))
    lines.append("http {\n    access_log logs/access.log;\n%s\n}" % (http or ""))
    return "\n".join(lines) + "\n"


class Server:
    """One started instance of the binary under test (see the harness brief)."""

    def __init__(self, prefix, ports, opts):
        self.prefix = prefix
        self.ports = ports
        self.port = ports[0] if ports else None
        self.name = NAME
        self.bin = BIN
        self.proc = None
        self.returncode = None
        self.conf_path = prefix / "conf" / "test.conf"
        self.pid_path = prefix / "logs" / "test.pid"
        self._opts = opts
        self._master_pid = None
        self._allow_log_errors = bool(opts.get("expect_fail"))
        self.killed = False  # stop() had to SIGKILL the master

    # --- config --------------------------------------------------------------

    def subst(self, text):
        """Replace %PORTn%, %PORT% and %PREFIX% placeholders."""
        if isinstance(text, bytes):
            return text
        for i, p in enumerate(self.ports, 1):
            text = text.replace("%%PORT%d%%" % i, str(p))
        if self.port is not None:
            text = text.replace("%PORT%", str(self.port))
        return text.replace("%PREFIX%", str(self.prefix))

    def write_conf(self, http=None, raw=None):
        o = self._opts
        text = raw if raw is not None else _default_conf(http, o["main"], o["events"],
                                                         o["workers"])
        self.conf_path.write_text(self.subst(text))

    # --- process -------------------------------------------------------------

    def _cmd(self, *args):
        return [BIN, "-p", str(self.prefix) + "/", "-c", "conf/test.conf", *args]

    def _launch(self, args, cwd=None):
        if not os.access(BIN, os.X_OK):
            pytest.fail("binary not found: %s (run make, or set PTC_BIN)" % BIN, pytrace=False)
        with open(self.prefix / "stdout.log", "wb") as out, \
                open(self.prefix / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen(self._cmd(*args), cwd=str(cwd or self.prefix),
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    def _diagnostics(self):
        return "--- stderr.log ---\n%s\n--- logs/error.log ---\n%s" % (
            _read_text(self.prefix / "stderr.log"), self.error_log())

    def _port_open(self, port):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        except OSError:
            return False
        s.close()
        return True

    def _ready(self):
        if self._read_pid() is None:
            return False
        return all(self._port_open(p) for p in self.ports)

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                pytest.fail("%s exited with %s before it was ready\n%s"
                            % (NAME, self.returncode, self._diagnostics()))
            if self._ready():
                return
            time.sleep(POLL)
        pytest.fail("%s not ready within %.0fs (ports %s, pid file %s)\n%s"
                    % (NAME, START_TIMEOUT, self.ports, self.pid_path, self._diagnostics()))

    def _wait_exit(self):
        try:
            self.returncode = self.proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop(_signal.SIGTERM, timeout=5)
            pytest.fail("%s was expected to fail but is still running after %.0fs\n%s"
                        % (NAME, START_TIMEOUT, self._diagnostics()))

    def _read_pid(self):
        try:
            text = self.pid_path.read_text().strip()
            pid = int(text)
        except (OSError, ValueError):
            return None
        self._master_pid = pid
        return pid

    @property
    def master_pid(self):
        """The master's pid from the pid file (last value seen if the file is gone)."""
        pid = self._read_pid()
        if pid is not None:
            return pid
        if self._master_pid is not None or self.proc is None:
            return self._master_pid
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        """Send sig to the master."""
        os.kill(self.master_pid, sig)

    def cli(self, *args, timeout=10):
        """Run BIN -p P/ -c conf/test.conf *args; CompletedProcess with text output."""
        return subprocess.run(self._cmd(*args), cwd=str(self.prefix), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def reload(self, conf_text=None, *, raw=None):
        """Optionally rewrite the config (http block text, or a whole config via raw=),
        then run `-s reload` and check it exits 0. Does not wait for new workers."""
        if conf_text is not None or raw is not None:
            self.write_conf(http=conf_text, raw=raw)
        r = self.cli("-s", "reload")
        assert r.returncode == 0, "reload failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr)
        return r

    def worker_pids(self):
        """Pids of the master's children (workers and helpers), sorted."""
        return sorted(pid for pid, _ in _children(self.master_pid))

    def wait_for(self, predicate, timeout=10.0, interval=POLL):
        return wait_for(predicate, timeout, interval)

    def stop(self, sig=_signal.SIGQUIT, timeout=10):
        """Signal the master, wait for it; SIGKILL it (and its workers) if still alive."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            kids = _children(self.proc.pid)
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(timeout=10)
                for pid, start in kids:
                    st = _proc_stat(pid)
                    if st is not None and st[1] == start:
                        try:
                            os.kill(pid, _signal.SIGKILL)
                        except ProcessLookupError:
                            pass
        self.returncode = self.proc.returncode
        return self.returncode

    # --- logs ----------------------------------------------------------------

    def allow_log_errors(self):
        """Do not fail the test on [alert]/[crit]/[emerg] lines in logs/error.log."""
        self._allow_log_errors = True

    def error_log(self):
        return _read_text(self.prefix / "logs" / "error.log")

    def access_log(self, name="access.log"):
        return _read_text(self.prefix / "logs" / name)

    def stderr_text(self):
        return _read_text(self.prefix / "stderr.log")

    def stdout_text(self):
        return _read_text(self.prefix / "stdout.log")

    # --- client side ---------------------------------------------------------

    def connect(self, port=None):
        return socket.create_connection(("127.0.0.1", port or self.port), timeout=5.0)

    def raw(self, data, timeout=5.0, read_until_close=True, port=None):
        """Send data on a fresh connection; read until EOF (or timeout: return what
        was read). read_until_close=False: stop as soon as one complete response
        has been received."""
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=timeout)
        try:
            s.sendall(data)
            out = b""
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                out += chunk
                if not read_until_close:
                    try:
                        _parse_one(out, eof=False)
                        break
                    except (IncompleteResponse, ValueError):
                        pass
            return out
        finally:
            s.close()

    def get(self, path="/", *, method="GET", headers=None, body=None, host="localhost",
            version="1.1", port=None, timeout=5.0):
        """One request on a fresh connection; returns the parsed Response."""
        req = build_request(path, method=method, headers=headers, body=body, host=host,
                            version=version)
        s = self.connect(port)
        try:
            s.sendall(req)
            return read_response(s, head=(method == "HEAD"), timeout=timeout)
        finally:
            s.close()

    def _teardown_check(self):
        problems = []
        if self.killed:
            problems.append("%s did not exit within 5 s of SIGTERM (SIGKILLed)" % NAME)
        err = self.stderr_text()
        for mark in SANITIZER_MARKS:
            if mark in err:
                problems.append("stderr.log contains %r:\n%s" % (mark, err[-4000:]))
                break
        if not self._allow_log_errors:
            bad = [ln for ln in self.error_log().splitlines()
                   if any(lv in ln for lv in BAD_LOG_LEVELS)]
            if bad:
                problems.append("logs/error.log has alert/crit/emerg lines:\n" +
                                "\n".join(bad[:20]))
        return problems


class Factory:
    """The `ptc` fixture: ptc.start(...) -> Server."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.servers = []
        self.name = NAME
        self.bin = BIN

    def make_prefix(self):
        prefix = self.tmp_path / ("p%d" % len(self.servers))
        for sub in ("conf", "logs", "html"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        for mime in (REPO / "conf" / "mime.types", pathlib.Path("/etc/nginx/mime.types")):
            if mime.is_file():
                shutil.copyfile(mime, prefix / "conf" / "mime.types")
                break
        return prefix

    def prepare(self, http=None, *, raw=None, main="", events="", workers=1, files=None,
                ports=1, expect_fail=False):
        """Create the prefix, files and config exactly as start() does, without
        starting anything (extension: for srv.cli("-t") and friends)."""
        prefix = self.make_prefix()
        opts = dict(main=main, events=events, workers=workers, expect_fail=expect_fail)
        srv = Server(prefix, _free_ports(ports), opts)
        self.servers.append(srv)
        for rel, content in (files or {}).items():
            path = prefix / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(srv.subst(content))
        srv.write_conf(http=http, raw=raw)
        return srv

    def start(self, http=None, *, raw=None, main="", events="", workers=1, files=None,
              ports=1, expect_fail=False, wait=True, args=(), cwd=None):
        """Write a config and start BIN -p P/ -c conf/test.conf [args].

        Extensions to the contract: args= extra command-line arguments (e.g. ("-g",
        "...")); cwd= working directory (default: the prefix); workers=None leaves
        worker_processes out of the generated config.
        """
        srv = self.prepare(http, raw=raw, main=main, events=events, workers=workers,
                           files=files, ports=ports, expect_fail=expect_fail)
        srv._launch(args, cwd)
        if expect_fail:
            srv._wait_exit()
        elif wait:
            srv._wait_ready()
            if raw is None and isinstance(workers, int) and "master_process off" not in main:
                # ports answer as soon as the master binds them; a test that
                # records the worker pids wants the workers to exist (slow
                # start-ups under ASan)
                srv.wait_for(lambda: len(srv.worker_pids()) >= workers)
        return srv

    def teardown(self):
        problems = []
        for srv in reversed(self.servers):
            if srv.proc is None:
                continue
            srv.stop(_signal.SIGTERM, timeout=5)
            problems += srv._teardown_check()
        return problems


@pytest.fixture
def ptc(tmp_path):
    factory = Factory(tmp_path)
    yield factory
    problems = factory.teardown()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
