#!/usr/bin/env bash
# Installs what hearth needs, builds it (Release, in build/), and runs `hearth run` with the
# arguments given; with none, it runs the built-in synthetic demo model end to end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/deps.sh"
hearth_install_debs "${HEARTH_BUILD_DEBS[@]}"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DHEARTH_TESTS=OFF >/dev/null
cmake --build "$root/build" --target hearth -j"$(nproc)"
exec "$root/build/hearth" run "$@"
