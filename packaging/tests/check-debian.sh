#!/bin/sh
# check-debian.sh - packaging/debian agrees with the rest of the tree.
#
# usage: check-debian.sh TOP     (the source tree)
#
# Checks: every Build-Depends package is one packaging/deps.sh installs,
# and every package of deps.sh's BUILD list is a Build-Depends (except the
# compilers and make, which build-essential brings, and clang, used only
# for libFuzzer builds); debian/changelog's version is meson's project
# version; every maintainer script and config script parses (sh -n) and
# uses no bashism (checkbashisms, when installed); every binary package has
# a .install file.  Prints "ok - ..." / "not ok - ...: got X, want Y".
set -u

top=$1
deb=$top/packaging/debian
fails=0

ok() { echo "ok - $*"; }
fail() {
    echo "not ok - $*"
    fails=$((fails + 1))
}

# Build-Depends: names only (no versions, arch qualifiers or profiles).
build_depends=$(awk '
    /^Build-Depends:/ { on = 1; sub(/^Build-Depends:/, "") }
    on && /^[A-Z][A-Za-z-]*:/ && !/^Build-Depends:/ { on = 0 }
    on { print }' "$deb/control" |
    tr ',' '\n' | sed 's/[[(<].*//; s/:any//; s/^[[:space:]]*//; s/[[:space:]]*$//' |
    grep -v '^$' | grep -v '^debhelper-compat$' | sort -u)
deps_all=$("$top/packaging/deps.sh" --print | tr ' ' '\n' | sort -u)
deps_build=$(sed -n '/^BUILD="/,/"$/p' "$top/packaging/deps.sh" |
    sed 's/^BUILD="//; s/"$//' | tr ' ' '\n' | grep -v '^$' | sort -u)

missing=''
for p in $build_depends; do
    echo "$deps_all" | grep -qx "$p" || missing="$missing $p"
done
[ -z "$missing" ] && ok "every Build-Depends is installed by packaging/deps.sh" ||
    fail "Build-Depends not in packaging/deps.sh: got$missing, want none"

unlisted=''
for p in $deps_build; do
    case $p in gcc | clang | make | dpkg-dev | debhelper) continue ;; esac
    echo "$build_depends" | grep -qx "$p" || unlisted="$unlisted $p"
done
[ -z "$unlisted" ] && ok "every package of deps.sh's BUILD list is a Build-Depends" ||
    fail "deps.sh BUILD packages missing from Build-Depends: got$unlisted, want none"

version=$(dpkg-parsechangelog -l "$deb/changelog" -S Version 2>/dev/null ||
    sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$deb/changelog")
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$top/meson.build" | head -1)
[ "$version" = "$meson_version" ] && ok "debian/changelog is at $version, as meson.build" ||
    fail "debian/changelog: got version $version, want $meson_version (meson.build)"

for f in "$deb"/*.postinst "$deb"/*.postrm "$deb"/*.preinst "$deb"/*.prerm "$deb"/*.config; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    if out=$(sh -n "$f" 2>&1); then ok "$name parses"; else fail "$name: sh -n: $out"; fi
    if command -v checkbashisms >/dev/null 2>&1; then
        if out=$(checkbashisms "$f" 2>&1); then ok "$name: no bashisms"; else fail "$name: $out"; fi
    fi
    head -1 "$f" | grep -qx '#!/bin/sh' && ok "$name: #!/bin/sh" || fail "$name: want #!/bin/sh"
done

for p in $(sed -n 's/^Package: *//p' "$deb/control"); do
    [ -s "$deb/$p.install" ] && ok "$p has $p.install" || fail "$p: no debian/$p.install"
done
[ $fails -eq 0 ]
