#!/bin/sh
# Builds the libFuzzer targets in test/fuzz with clang-14 into objs/fuzz/
# and runs each for FUZZ_SECONDS (default 60) on its seed corpus. A crash
# leaves its input in objs/fuzz/ and fails the run.
set -eu
cd "$(dirname "$0")/.."
PTC_DEPS_EXTRA="clang-14 libclang-rt-14-dev" sh scripts/install-deps.sh
secs=${FUZZ_SECONDS:-60}
out=objs/fuzz
mkdir -p "$out"
base="core/ptc_alloc.c core/ptc_pool.c core/ptc_str.c core/ptc_array.c core/ptc_buf.c"
flags="-std=gnu11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

build() { # name sources...
    name=$1
    shift
    # shellcheck disable=SC2086
    clang-14 $flags -o "$out/$name" $base "$@"
}

build fuzz_http_parse test/fuzz/fuzz_http_parse.c modules/http/http_parse.c \
    modules/http/http_parse_chunked.c modules/http/http_parse_uri.c
build fuzz_conf test/fuzz/fuzz_conf.c core/ptc_conf_file.c
build fuzz_proxy_protocol test/fuzz/fuzz_proxy_protocol.c core/ptc_proxy_protocol.c
build fuzz_tls_hello test/fuzz/fuzz_tls_hello.c core/ptc_tls_hello.c -lcrypto

for t in http_parse conf proxy_protocol tls_hello; do
    mkdir -p "$out/corpus-$t"
    echo "== fuzz_$t for ${secs}s"
    "$out/fuzz_$t" -max_total_time="$secs" -artifact_prefix="$out/" "$out/corpus-$t" \
        "test/fuzz/corpus/$t" 2>"$out/fuzz_$t.log" || {
        tail -n 30 "$out/fuzz_$t.log"
        exit 1
    }
    tail -n 1 "$out/fuzz_$t.log"
done
