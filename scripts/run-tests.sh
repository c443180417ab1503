#!/bin/sh
# Runs every test: C unit tests, then the integration suite against
# objs/portico. Prints one closing summary line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."

unit_out=$(./objs/unit-tests 2>&1)
unit_rc=$?
printf '%s\n' "$unit_out" | tail -n 30
unit_line=$(printf '%s\n' "$unit_out" | tail -n 1)
unit_pass=$(printf '%s' "$unit_line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
unit_fail=$(printf '%s' "$unit_line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
: "${unit_pass:=0}" "${unit_fail:=1}"

/usr/bin/python3 -m pytest -q -p no:cacheprovider test/integration ${PTC_PYTEST_ARGS:-} \
    >objs/pytest.log 2>&1
py_rc=$?
tail -n 40 objs/pytest.log
summary=$(grep -E '(passed|failed|error|skipped).* in [0-9.]+s' objs/pytest.log | tail -n 1)
py_pass=$(printf '%s' "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
py_fail=$(printf '%s' "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
py_err=$(printf '%s' "$summary" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+' || true)
: "${py_pass:=0}" "${py_fail:=0}" "${py_err:=0}"
if [ "$py_rc" != 0 ] && [ "$py_fail" = 0 ] && [ "$py_err" = 0 ]; then
    py_fail=1 # pytest failed without a count (collection error, crash)
fi

total_pass=$((unit_pass + py_pass))
total_fail=$((unit_fail + py_fail + py_err))
py_skip=$(printf '%s' "$summary" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || true)
echo "unit: $unit_pass passed, $unit_fail failed; integration: $py_pass passed," \
    "$((py_fail + py_err)) failed, ${py_skip:-0} skipped"
echo "$total_pass passed, $total_fail failed"
[ "$unit_rc" = 0 ] && [ "$py_rc" = 0 ]
