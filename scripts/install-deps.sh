#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the demo need.
# Idempotent: when everything is present it only asks dpkg and returns in well under a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libpq-dev libboost-dev libboost-program-options-dev
  libprotobuf-dev protobuf-compiler libspdlog-dev libfmt-dev
  libjemalloc-dev  # the partshift binary's allocator (CMakeLists.txt says why)
  libgtest-dev googletest
  prometheus-cpp-dev libcivetweb-dev  # metrics: the registry and text format; the HTTP server
  postgresql-15 postgresql-client-15 postgresql-contrib
  postgresql-15-partman  # run --partman: the tests register a table with pg_partman 4.x
  procps util-linux
  clang-format  # the unit test source_format (tests/style/check_format.sh)
  jq python3  # scripts/benchmark.sh (status JSON; percentiles and the report), run by the tests
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "partshift: installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
# The Debian postgresql package starts a cluster on install; partshift never uses it.
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
