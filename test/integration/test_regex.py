"""Regex robustness: compile errors name the pattern, PCRE2's message and
FILE:LINE; pcre_match_limit / pcre_depth_limit (Portico additions) bound
every match, and a match that hits a limit is logged and counts as no match
(location, server_name, map) while the worker keeps serving."""
import re
import time

import pytest

from conftest import NAME, _default_conf

EVIL = "^/(a+)+$"                 # 2^n ways to fail on /aaa...ab
EVIL_PATH = "/" + "a" * 30 + "b"  # far beyond the built-in match limit


def check_fails(srv, conf, message, rest, line, offset):
    """-t fails with `message at "REST" (offset N) in FILE:LINE`, REST being
    the pattern from where PCRE2 stopped; an empty `at ""` is left out, as
    nginx does (nginx gives no offset)."""
    srv.conf_path.write_text(conf)
    r = srv.cli("-t")
    assert r.returncode == 1, r.stderr
    where = " in %s:%d" % (srv.conf_path, line)
    extra = re.escape(' at "%s"' % rest) if rest else ""
    if NAME != "nginx":
        extra += re.escape(" (offset %d)" % offset)
    want = r"\[emerg\] (\d+#\d+: )?%s%s%s\n" % (re.escape(message), extra, re.escape(where))
    assert re.search(want, r.stderr), "want %s\ngot: %s" % (want, r.stderr)


BAD = [
    # (http block, message, rest of the pattern, line, offset)
    ("server {\n listen 127.0.0.1:1;\n location ~ (abc {\n }\n}\n",
     'pcre2_compile() failed: missing closing parenthesis in "(abc"', "", 5, 4),
    ("server {\n listen 127.0.0.1:1;\n location ~* \"[z-a]\" {\n }\n}\n",
     'pcre2_compile() failed: range out of order in character class in "[z-a]"', "a]", 5, 3),
    ("server {\n listen 127.0.0.1:1;\n server_name ok.example ~^(www.example;\n}\n",
     'pcre2_compile() failed: missing closing parenthesis in "^(www.example"', "", 5, 13),
    ("map $uri $x {\n default 0;\n ~^/a(b 1;\n}\n",
     'pcre2_compile() failed: missing closing parenthesis in "^/a(b"', "", 5, 5),
    ("map $uri $x {\n ~*a) 1;\n}\n",
     'pcre2_compile() failed: unmatched closing parenthesis in "a)"', ")", 4, 1),
]


@pytest.mark.parametrize("http, message, rest, line, offset", BAD)
def test_bad_regex_fails_test_with_file_line(ptc, http, message, rest, line, offset):
    srv = ptc.prepare()
    check_fails(srv, "events { }\nhttp {\n" + http + "}\n", message, rest, line, offset)


def test_pcre_jit_is_accepted(ptc):
    srv = ptc.prepare(main="pcre_jit off;")
    r = srv.cli("-t")
    assert r.returncode == 0, r.stderr


@pytest.mark.portico_only
def test_pcre_limit_directives_are_checked(ptc):
    srv = ptc.prepare(main="pcre_match_limit 500000;\npcre_depth_limit 2000;")
    r = srv.cli("-t")
    assert r.returncode == 0, r.stderr
    srv.conf_path.write_text("pcre_match_limit 0;\nevents { }\n")
    r = srv.cli("-t")
    assert r.returncode == 1
    assert "value must be between 1 and 4294967295 in \"pcre_match_limit\" directive in %s:1" \
        % srv.conf_path in r.stderr
    srv.conf_path.write_text("events { }\nhttp { pcre_depth_limit 10; }\n")
    r = srv.cli("-t")
    assert r.returncode == 1
    assert "\"pcre_depth_limit\" directive is not allowed here in %s:2" % srv.conf_path \
        in r.stderr


def limit_lines(srv):
    return [ln for ln in srv.error_log().splitlines()
            if "pcre2_match() failed: match limit exceeded" in ln]


@pytest.mark.portico_only
def test_catastrophic_location_regex_is_bounded(ptc):
    srv = ptc.start("server { listen 127.0.0.1:%PORT%;\n"
                    "  location ~ " + EVIL + " { return 200 \"regex\"; }\n"
                    "  location / { return 200 \"prefix\"; } }")
    t0 = time.monotonic()
    resp = srv.get(EVIL_PATH)
    assert time.monotonic() - t0 < 0.5
    assert (resp.status, resp.body) == (200, b"prefix")
    # the same worker answers the next connection, and the regex still works
    assert srv.get("/aaa").body == b"regex"
    assert srv.wait_for(lambda: limit_lines(srv))
    line = limit_lines(srv)[0]
    assert "[error]" in line
    assert 'on "%s" using "%s"' % (EVIL_PATH, EVIL) in line
    assert "client: 127.0.0.1" in line


@pytest.mark.portico_only
def test_catastrophic_map_and_server_name_regex_count_as_no_match(ptc):
    srv = ptc.start("map $uri $m { default dflt; ~" + EVIL + " evil; ~^/x x; }\n"
                    "server { listen 127.0.0.1:%PORT% default_server;\n"
                    "  location / { return 200 \"default $m\"; } }\n"
                    "server { listen 127.0.0.1:%PORT%; server_name ~^(a+)+$;\n"
                    "  location / { return 200 \"named\"; } }")
    t0 = time.monotonic()
    assert srv.get(EVIL_PATH).body == b"default dflt"
    assert srv.get("/", host="a" * 30 + "b").body == b"default dflt"
    assert time.monotonic() - t0 < 1.0
    assert srv.get("/x").body == b"default x"
    assert srv.get("/", host="aaa").body == b"named"
    assert srv.wait_for(lambda: len(limit_lines(srv)) >= 2)
    assert any('using "^(a+)+$"' in ln for ln in limit_lines(srv))


@pytest.mark.portico_only
def test_pcre_match_limit_applies_in_workers(ptc):
    # 15 'a': about 65000 steps, under the built-in limit
    conf = ("server { listen 127.0.0.1:%PORT%;\n"
            "  location ~ " + EVIL + " { return 200 \"regex\"; }\n"
            "  location / { return 200 \"prefix\"; } }")
    path = "/" + "a" * 15 + "b"
    srv = ptc.start(conf)
    assert srv.get(path).body == b"prefix"
    assert srv.get("/aa").body == b"regex"
    assert limit_lines(srv) == []
    low = ptc.start(conf, main="pcre_match_limit 1000;", workers=2)
    assert low.get(path).body == b"prefix"
    assert low.wait_for(lambda: limit_lines(low))
    # 20 'a': about 2 million steps, allowed by a raised limit
    high = ptc.start(conf, main="pcre_match_limit 10000000;")
    assert high.get("/" + "a" * 20 + "b").body == b"prefix"
    assert high.get("/" + "a" * 30 + "b").body == b"prefix"
    assert high.wait_for(lambda: len(limit_lines(high)) == 1)
    assert "a" * 30 in limit_lines(high)[0]


@pytest.mark.portico_only
def test_reload_applies_new_limits_to_new_workers(ptc):
    conf = ("server { listen 127.0.0.1:%PORT%;\n"
            "  location ~ " + EVIL + " { return 200 \"regex\"; }\n"
            "  location / { return 200 \"prefix\"; } }")
    path = "/" + "a" * 15 + "b"
    srv = ptc.start(conf)
    assert srv.get(path).body == b"prefix"
    assert limit_lines(srv) == []
    old = srv.worker_pids()
    srv.reload(raw=_default_conf(conf, "pcre_match_limit 1000;", "", 1))
    assert srv.wait_for(lambda: srv.worker_pids() and not set(srv.worker_pids()) & set(old))
    assert srv.get(path).body == b"prefix"
    assert srv.wait_for(lambda: len(limit_lines(srv)) == 1)
