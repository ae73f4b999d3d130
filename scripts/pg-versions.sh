#!/usr/bin/env bash
# PostgreSQL servers of other major versions for the tests, from Debian's own packages: a
# minimal root per Debian suite (debootstrap) with postgresql-N (and postgresql-N-partman) in it,
# and a bin directory of wrappers (initdb, pg_ctl, postgres, pg_controldata, pg_dump, ...) that
# run the root's binaries under chroot. Point PG_BIN at that directory and scripts/pg-sandbox.sh
# starts that version. It does not touch the host's packages or its PostgreSQL 15.
#
#   scripts/pg-versions.sh bin VERSION     make the root if missing (minutes the first time),
#                                          print the bin dir for PG_BIN on stdout; exit 77 with
#                                          "SKIPPED: PostgreSQL N: reason" on stderr when this
#                                          machine cannot provide it
#   scripts/pg-versions.sh list            each version, its suite and whether it is ready
#   scripts/pg-versions.sh remove VERSION  delete that version's root and wrappers
#
# 15 is the host's own server (/usr/lib/postgresql/15/bin); 17 comes from trixie, 18 from sid.
# Roots live in PARTSHIFT_PG_ROOTS (default /var/cache/partshift/pg-roots), which survives
# clean clones. Needs root (debootstrap, chroot, mount namespaces); the servers themselves run as
# the postgres user, created in the root with the host's uid and gid so a data directory has one
# owner inside and out. The wrappers run each command in a private mount namespace in which /tmp
# (where the sandboxes, their data and their sockets live) is bind-mounted at the same path, so
# the host's clients reach a chroot server's socket at the path the server was given.
set -euo pipefail

roots=${PARTSHIFT_PG_ROOTS:-/var/cache/partshift/pg-roots}
mirror=${PARTSHIFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Bumped when the wrappers change: wrappers of another format are made again.
wrapper_format="partshift pg-versions wrappers 2"

say() { echo "pg-versions: $*" >&2; }
skip() {
  echo "SKIPPED: PostgreSQL $1: $2" >&2
  exit 77
}

suite_of() {
  case $1 in
    17) echo trixie ;;
    18) echo sid ;;
    *) return 1 ;;
  esac
}

# Runs "$@" inside ROOT with /tmp, /dev and /proc of the host, in a mount namespace of its own:
# nothing stays mounted on the host after the command (and, for pg_ctl start, the postmaster)
# exits.
in_root() {
  local root=$1
  shift
  unshare --mount --propagation private -- /bin/sh -c '
    root=$1; shift
    mount --bind /tmp "$root/tmp"
    mount --rbind /dev "$root/dev"
    mount -t proc proc "$root/proc"
    exec chroot "$root" "$@"' in_root "$root" "$@"
}

# Long steps talk: COMMAND's output goes to LOG, and a line every 30 s says it still runs, with
# the root's size so far.
with_heartbeat() {
  local what=$1 root=$2 log=$3
  shift 3
  "$@" >>"$log" 2>&1 &
  local pid=$! start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if (((SECONDS - start) % 30 < 5)) && kill -0 "$pid" 2>/dev/null; then
      say "$what: still working ($((SECONDS - start)) s, $(du -sxh "$root" 2>/dev/null | cut -f1))"
    fi
  done
  wait "$pid"
}

make_root() {
  local version=$1 suite=$2 root=$3 log=$4
  local tmp=$root.partial
  rm -rf "$tmp"
  mkdir -p "$tmp"
  say "PostgreSQL $version: debootstrap $suite (minbase) into $root from $mirror; log $log"
  : >"$log"
  with_heartbeat "debootstrap $suite" "$tmp" "$log" \
    unshare --mount --propagation private -- debootstrap --variant=minbase --include=ca-certificates "$suite" "$tmp" "$mirror" || {
    tail -n 20 "$log" >&2
    return 1
  }
  # The host's postgres uid and gid, so data directories and sockets have one owner.
  local uid gid
  uid=$(id -u postgres)
  gid=$(id -g postgres)
  chroot "$tmp" groupadd -g "$gid" postgres
  chroot "$tmp" useradd -u "$uid" -g "$gid" -d /var/lib/postgresql -s /bin/sh postgres
  # No service starts in the root, and postgresql-common makes no "main" cluster.
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod 0755 "$tmp/usr/sbin/policy-rc.d"
  mkdir -p "$tmp/etc/postgresql-common"
  echo 'create_main_cluster = false' >"$tmp/etc/postgresql-common/createcluster.conf"
  local packages=("postgresql-$version")
  say "PostgreSQL $version: apt-get install in the root"
  in_root "$tmp" apt-get update -qq >>"$log" 2>&1
  if in_root "$tmp" apt-cache show "postgresql-$version-partman" >/dev/null 2>&1; then
    packages+=("postgresql-$version-partman")
  else
    say "PostgreSQL $version: $suite has no postgresql-$version-partman; the partman tests skip"
  fi
  if ! in_root "$tmp" apt-cache show "postgresql-$version" >/dev/null 2>&1; then
    echo "no package postgresql-$version in $suite" >"$tmp.unavailable"
    return 1
  fi
  with_heartbeat "apt-get install ${packages[*]}" "$tmp" "$log" \
    in_root "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${packages[@]}" || {
    tail -n 20 "$log" >&2
    return 1
  }
  in_root "$tmp" apt-get clean >>"$log" 2>&1
  mv "$tmp" "$root"
}

# The wrappers are self-contained (they outlive the checkout that made them: the cache
# survives clean clones). As root, the server tools run as postgres (initdb and postgres
# refuse root); a client tool (pg_dump, pg_controldata) runs as the caller. Each command runs
# in a private mount namespace with /tmp, /dev and /proc of the host, so nothing stays mounted
# on the host after the command (and, for pg_ctl start, the postmaster) exits.
wrapper_text() {
  local version=$1 root=$2 tool=$3 user=root
  case $tool in
    initdb | pg_ctl | postgres | postmaster | pg_resetwal | pg_upgrade | pg_checksums | pg_rewind)
      user=postgres
      ;;
  esac
  cat <<WRAP
#!/bin/sh
# PostgreSQL $version's $tool, run under chroot in $root (made by partshift's
# scripts/pg-versions.sh).
[ "\$(id -u)" -eq 0 ] || { echo "$tool: PostgreSQL $version runs under chroot and needs root" >&2; exit 1; }
# The caller's working directory may not exist in the root; /tmp does.
cwd=\$PWD
[ -d "$root\$cwd" ] || cwd=/tmp
exec unshare --mount --propagation private -- /bin/sh -c '
  mount --bind /tmp "\$0/tmp" && mount --rbind /dev "\$0/dev" && mount -t proc proc "\$0/proc" &&
  exec chroot --userspec=$user:$user "\$0" /bin/sh -c "cd \\"\\\$0\\" && exec \\"\\\$@\\"" "\$@"' \
  "$root" "\$cwd" /usr/lib/postgresql/$version/bin/$tool "\$@"
WRAP
}

make_wrappers() {
  local version=$1 root=$2 bin=$3
  rm -rf "$bin.partial"
  mkdir -p "$bin.partial"
  local tool
  for tool in "$root/usr/lib/postgresql/$version/bin/"*; do
    tool=$(basename "$tool")
    # psql stays the host's (the 15 client, as libpq does).
    [[ $tool == psql ]] && continue
    wrapper_text "$version" "$root" "$tool" >"$bin.partial/$tool"
    chmod 0755 "$bin.partial/$tool"
  done
  # pg-sandbox.sh: the wrappers switch to the postgres user themselves (chroot needs root).
  echo "$wrapper_format" >"$bin.partial/.partshift-chroot"
  rm -rf "$bin"
  mv "$bin.partial" "$bin"
}

bin_for() {
  local version=$1
  if [[ $version == 15 ]]; then
    [[ -x /usr/lib/postgresql/15/bin/postgres ]] || skip 15 "postgresql-15 is not installed"
    echo /usr/lib/postgresql/15/bin
    return
  fi
  local suite
  suite=$(suite_of "$version") || skip "$version" "not one this script provides (15: the host's, 17: trixie, 18: sid)"
  local root=$roots/$suite-$version bin=$roots/bin-$version
  if [[ -x $root/usr/lib/postgresql/$version/bin/postgres &&
    $(cat "$bin/.partshift-chroot" 2>/dev/null) == "$wrapper_format" ]]; then
    echo "$bin"
    return
  fi
  [[ $(id -u) -eq 0 ]] || skip "$version" "making its root needs root (debootstrap, chroot)"
  command -v debootstrap >/dev/null || {
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
      >/dev/null 2>&1 || skip "$version" "debootstrap is not installed and apt-get could not install it"
  }
  mkdir -p "$roots"
  # One builder at a time; a second caller waits, then finds the root made.
  exec 9>"$roots/.lock-$version"
  if ! flock -n 9; then
    say "PostgreSQL $version: another process is making the root; waiting for it"
    flock 9
  fi
  if [[ ! -x $root/usr/lib/postgresql/$version/bin/postgres ]]; then
    local start=$SECONDS log=$roots/$suite-$version.log
    rm -f "$root.partial.unavailable"
    if ! make_root "$version" "$suite" "$root" "$log"; then
      local why="making the $suite root failed (see $log)" err
      err=$(grep -m1 -E '^(E:|W: Failure)' "$log" 2>/dev/null || true)
      [[ -n $err ]] && why="making the $suite root failed: $err (see $log)"
      [[ -f $root.partial.unavailable ]] && why=$(cat "$root.partial.unavailable")
      rm -rf "$root.partial"
      skip "$version" "$why"
    fi
    say "PostgreSQL $version: root ready in $((SECONDS - start)) s, $(du -sxh "$root" 2>/dev/null | cut -f1)"
  fi
  make_wrappers "$version" "$root" "$bin"
  echo "$bin"
}

cmd=${1:-}
shift || true
case $cmd in
  bin) bin_for "${1:?version}" ;;
  list)
    for v in 15 17 18; do
      if [[ $v == 15 ]]; then
        where=/usr/lib/postgresql/15/bin
        [[ -x $where/postgres ]] && state=ready || state=missing
      else
        where=$roots/$(suite_of $v)-$v
        [[ -x $where/usr/lib/postgresql/$v/bin/postgres ]] && state=ready || state="not made yet"
      fi
      printf '%s\t%s\t%s\n' "$v" "$state" "$where"
    done
    ;;
  remove)
    suite=$(suite_of "${1:?version}")
    rm -rf "${roots:?}/$suite-$1" "$roots/bin-$1"
    ;;
  *)
    sed -n '2,21p' "$0" >&2
    exit 2
    ;;
esac
