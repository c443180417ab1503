"""Command-line contract: -v -V -h -t -T -q -c -p -g -e -s, and start-up failures."""

import re
import subprocess
import time

import pytest

from conftest import BIN, NAME

HELLO = 'server { listen 127.0.0.1:%PORT%; location / { return 200 "hello"; } }'


def run(*args, cwd="/"):
    """Run the binary with exactly these arguments (no -p/-c added)."""
    return subprocess.run([BIN, *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL)


def test_v_prints_version_on_stderr():
    r = run("-v")
    assert r.returncode == 0
    assert r.stdout == ""
    assert re.fullmatch(r"%s version: %s/\d+\.\d+\.\d+\S*\n" % (NAME, NAME), r.stderr), r.stderr


def test_V_prints_version_tls_and_configure_arguments():
    r = run("-V")
    assert r.returncode == 0
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert re.fullmatch(r"%s version: %s/\d+\.\d+\.\d+.*" % (NAME, NAME), lines[0])
    assert any(ln.startswith("built with OpenSSL ") for ln in lines), r.stderr
    assert "TLS SNI support enabled" in lines
    assert len([ln for ln in lines if ln.startswith("configure arguments:")]) == 1


@pytest.mark.portico_only
def test_V_configure_arguments_name_missing_modules():
    r = run("-V")
    conf_line = [ln for ln in r.stderr.splitlines() if ln.startswith("configure arguments:")][0]
    args = conf_line.split()
    for mod in ("fastcgi", "uwsgi", "scgi", "grpc", "memcached", "ssi"):
        assert "--without-http_%s_module" % mod in args, conf_line
    # a module is either named (--with-...) or disowned (--without-...), never both
    for a in args:
        if a.startswith("--with-http_"):
            assert "--without-" + a[len("--with-"):] not in args, conf_line
    assert "=dynamic" not in r.stderr


@pytest.mark.parametrize("flag", ["-h", "-?"])
def test_help_prints_usage_on_stderr(flag):
    r = run(flag)
    assert r.returncode == 0
    assert r.stdout == ""
    assert re.search(r"^Usage: %s " % NAME, r.stderr, re.M), r.stderr
    for opt in ("-v", "-V", "-t", "-T", "-q", "-s", "-p", "-c", "-g", "-e"):
        assert re.search(r"^\s*%s\b" % opt, r.stderr, re.M), "%s not described" % opt


def test_t_good_config(ptc):
    srv = ptc.prepare(HELLO)
    r = srv.cli("-t")
    path = srv.conf_path
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "%s: the configuration file %s syntax is ok\n" % (NAME, path) in r.stderr
    assert "%s: configuration file %s test is successful\n" % (NAME, path) in r.stderr


def test_t_q_is_silent_on_success(ptc):
    srv = ptc.prepare(HELLO)
    r = srv.cli("-t", "-q")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_t_bad_config_names_file_and_line(ptc):
    srv = ptc.prepare(raw="events { }\nhttp {\n    server {\n        bogus_directive on;\n"
                          "    }\n}\n")
    r = srv.cli("-t")
    assert r.returncode == 1
    assert r.stdout == ""
    assert re.search(r'\[emerg\] .*unknown directive "bogus_directive" in %s:4\n'
                     % re.escape(str(srv.conf_path)), r.stderr), r.stderr
    assert "%s: configuration file %s test failed" % (NAME, srv.conf_path) in r.stderr


def test_T_dumps_config_and_included_files(ptc):
    main = "events { }\nhttp {\n    include inc/*.conf;\n}\n"
    inc_a = 'server { listen 127.0.0.1:%PORT%; return 200 "a"; }\n'
    inc_b = "# just a comment\n"
    srv = ptc.prepare(raw=main, files={"conf/inc/a.conf": inc_a, "conf/inc/b.conf": inc_b})
    r = srv.cli("-T")
    assert r.returncode == 0, r.stderr
    conf = srv.prefix / "conf"
    expected = ("# configuration file %s:\n%s\n" % (srv.conf_path, main) +
                "# configuration file %s:\n%s\n" % (conf / "inc/a.conf", srv.subst(inc_a)) +
                "# configuration file %s:\n%s\n" % (conf / "inc/b.conf", inc_b))
    assert r.stdout == expected
    assert "test is successful" in r.stderr


def test_c_is_relative_to_prefix(ptc):
    srv = ptc.prepare(HELLO, files={"conf/other.conf": "events { }\nhttp { }\n"})
    r = run("-p", "%s/" % srv.prefix, "-c", "conf/other.conf", "-t")
    assert r.returncode == 0, r.stderr
    assert "configuration file %s/conf/other.conf test is successful" % srv.prefix in r.stderr


def test_p_relative_paths_resolve_against_prefix(ptc, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "html").mkdir(parents=True)
    (elsewhere / "html" / "index.html").write_text("wrong tree\n")
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; root html; }",
                    files={"html/index.html": "prefix tree\n"}, cwd=str(elsewhere))
    r = srv.get("/index.html")
    assert (r.status, r.body) == (200, b"prefix tree\n")
    assert (srv.prefix / "logs" / "access.log").exists()
    assert not (elsewhere / "logs").exists()


def test_g_sets_global_directives(ptc):
    srv = ptc.start(HELLO, workers=None, args=("-g", "worker_processes 2;"))
    assert srv.wait_for(lambda: len(srv.worker_pids()) == 2)
    assert srv.get("/").body == b"hello"


def test_g_duplicate_of_file_directive(ptc):
    srv = ptc.prepare(HELLO, workers=1)
    r = srv.cli("-g", "worker_processes 2;", "-t")
    assert r.returncode == 1
    assert '[emerg] ' in r.stderr
    assert '"worker_processes" directive is duplicate' in r.stderr


def test_e_error_log_receives_startup_error(ptc, tmp_path):
    srv = ptc.start(raw="bogus_directive 1;\nevents { }\nhttp { }\n", expect_fail=True,
                    args=("-e", "logs/startup.log"), cwd=str(tmp_path))
    assert srv.returncode == 1
    log = (srv.prefix / "logs" / "startup.log").read_text()
    assert re.search(r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[emerg\] \d+#\d+: '
                     r'unknown directive "bogus_directive" in %s:1$'
                     % re.escape(str(srv.conf_path)), log, re.M), log


def test_s_without_master_names_pid_file(ptc):
    srv = ptc.prepare(HELLO)
    for sig in ("reload", "stop"):
        r = srv.cli("-s", sig)
        assert r.returncode == 1
        assert str(srv.pid_path) in r.stderr, r.stderr
        assert "No such file or directory" in r.stderr


def test_config_error_exits_quickly_without_pid_file(ptc):
    began = time.monotonic()
    srv = ptc.start("server { listen 127.0.0.1:%PORT%; bogus_directive; }", expect_fail=True)
    assert srv.returncode == 1
    assert time.monotonic() - began < 3.0
    assert not srv.pid_path.exists()
    assert 'unknown directive "bogus_directive"' in srv.stderr_text()
    assert srv.proc.poll() == 1
