#!/usr/bin/env bash
# Installs the Debian packages named as arguments when any is missing (Debian 12).
# Sourced by run.sh and test.sh; uses sudo when not root.
hearth_install_debs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "hearth: installing ${missing[*]}" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# What building hearth needs.
HEARTH_BUILD_DEBS=(g++ cmake make pkg-config ccache libpcre2-dev libutf8proc-dev nlohmann-json3-dev libcpp-httplib-dev libedit-dev)
# What the tests need on top: GoogleTest, numpy for the golden checker, jsonschema for the
# constrained-decoding check, clang for the fuzzers, node/npm for the tokenizer oracle and SIMDe
# for the emulated AVX-512 kernel tests.
HEARTH_TEST_DEBS=(libgtest-dev libsimde-dev python3-numpy python3-jinja2 python3-jsonschema clang-14 libclang-rt-14-dev)
# node and npm may come from elsewhere (a newer node than Debian's, as on CI machines): only
# ask apt for them when the commands are missing, or apt refuses the held packages.
command -v node >/dev/null 2>&1 || HEARTH_TEST_DEBS+=(nodejs)
command -v npm >/dev/null 2>&1 || HEARTH_TEST_DEBS+=(npm)
