#!/usr/bin/env bash
# Builds the Debian package from a build directory and checks it without installing it on this
# machine: its name, its control fields (Depends: runtime libraries only), the files it holds,
# the binary run from an extracted copy (--version), the man page and the bash completion;
# then `cmake --install` into a temporary prefix puts the same files in place.
#   tests/package/check_deb.sh BUILD_DIR VERSION
set -euo pipefail
build=$1
version=$2
deb="$build/partshift_${version}_amd64.deb"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check_deb: $*" >&2; exit 1; }

rm -f "$deb"
(cd "$build" && cpack -G DEB >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack failed"; }
[[ -f $deb ]] || fail "no $deb (cpack wrote: $(ls "$build"/*.deb 2>/dev/null))"

field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == partshift ]] || fail "Package is $(field Package)"
[[ $(field Version) == "$version" ]] || fail "Version is $(field Version)"
[[ $(field Architecture) == amd64 ]] || fail "Architecture is $(field Architecture)"
depends=$(field Depends)
echo "Depends: $depends"
for lib in libpq5 libprotobuf libjemalloc libspdlog libboost-program-options libprometheus-cpp-core libcivetweb libc6; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
# Each dependency's package name: runtime libraries only, no -dev package, tool or server.
while read -r name; do
  case $name in
    *-dev|gcc|gcc-*|g++*|cpp|cmake|ninja-build|postgresql-1[0-9]|googletest|protobuf-compiler)
      fail "Depends names $name, which is not a runtime library: $depends" ;;
  esac
done < <(tr ',|' '\n\n' <<<"$depends" | awk '{print $1}' | sed '/^$/d')

dpkg-deb -c "$deb" | awk '{print $6}' >"$work/contents"
for f in ./usr/bin/partshift ./usr/share/man/man1/partshift.1.gz \
         ./usr/share/bash-completion/completions/partshift; do
  grep -qxF "$f" "$work/contents" || fail "$f missing from the package:"$'\n'"$(cat "$work/contents")"
done

dpkg-deb -x "$deb" "$work/root"
out=$("$work/root/usr/bin/partshift" --version)
# The first line names the version; the lines after it the libpq and the servers supported.
[[ $(head -n1 <<<"$out") == "partshift $version"* ]] || fail "--version printed '$out'"
if ldd "$work/root/usr/bin/partshift" | grep -q "not found"; then
  fail "unresolved libraries: $(ldd "$work/root/usr/bin/partshift" | grep 'not found')"
fi
zcat "$work/root/usr/share/man/man1/partshift.1.gz" | grep -q "^.SH EXIT STATUS" || fail "man page"
zcat "$work/root/usr/share/man/man1/partshift.1.gz" | grep -q "partshift $version" || fail "man page version"

# The completion completes commands, and a command's options from its --help.
completion=$(PATH="$work/root/usr/bin:$PATH" bash -c '
  source "$1"
  COMP_WORDS=(partshift ru); COMP_CWORD=1; _partshift; echo "${COMPREPLY[*]}"
  COMP_WORDS=(partshift run --hooks); COMP_CWORD=2; _partshift; echo "${COMPREPLY[*]}"
  COMP_WORDS=(partshift run --partition-by r); COMP_CWORD=3; _partshift; echo "${COMPREPLY[*]}"
' _ "$work/root/usr/share/bash-completion/completions/partshift")
[[ $(sed -n 1p <<<"$completion") == run ]] || fail "completion of 'ru': $completion"
[[ $(sed -n 2p <<<"$completion") == *--hooks-dir* ]] || fail "completion of 'run --hooks': $completion"
[[ $(sed -n 3p <<<"$completion") == range ]] || fail "completion of '--partition-by r': $completion"

# cmake --install puts the same three files under a prefix.
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in bin/partshift share/man/man1/partshift.1.gz share/bash-completion/completions/partshift; do
  [[ -f $work/prefix/$f ]] || fail "cmake --install did not install $f"
done
"$work/prefix/bin/partshift" --version >/dev/null
echo "check_deb: $deb ok ($(du -h "$deb" | cut -f1)); Depends: $depends"
