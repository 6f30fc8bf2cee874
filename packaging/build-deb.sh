#!/bin/sh
# build-deb.sh - build authgate's Debian binary packages (make deb).
#
# usage: packaging/build-deb.sh [OUTDIR]        (default: build-deb)
#
# Stages the source tree (the files git knows: tracked, and untracked ones
# not ignored, as they are in the work tree) into OUTDIR/authgate-VERSION,
# adds packaging/debian as debian/, runs dpkg-buildpackage -b there, then
# lintian on the result.  The packages land in OUTDIR; their paths are
# printed last, one per line, after "packages:".
#
# Fails when debian/changelog's version is not meson's project version,
# when the build fails, or when lintian reports an error or a warning that
# is not overridden (overrides in packaging/debian/*.lintian-overrides,
# each with the reason).  Environment: DEB_BUILD_OPTIONS as usual (e.g.
# nocheck skips the unit suite), LINTIAN=0 skips lintian.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build-deb}
case $out in /*) ;; *) out=$top/$out ;; esac

version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$top/meson.build" | head -1)
if [ "$version" != "$meson_version" ]; then
    echo "build-deb: debian/changelog says $version, meson.build $meson_version:" \
        "add a changelog entry (dch -v $meson_version)" >&2
    exit 1
fi

stage=$out/authgate-$version
rm -rf "$stage"
mkdir -p "$stage"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes "$out"/lintian.txt
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Deleted-but-tracked files are skipped: the work tree is what builds.
    git -C "$top" ls-files -z --cached --others --exclude-standard |
        (cd "$top" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        (cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$stage"
else
    (cd "$top" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -xf - -C "$stage"
fi
cp -a "$top/packaging/debian" "$stage/debian"

echo "build-deb: dpkg-buildpackage in $stage" >&2
(cd "$stage" && dpkg-buildpackage -b -us -uc -j"$(nproc)")

changes=$(ls "$out"/authgate_"$version"_*.changes)
if [ "${LINTIAN:-1}" != 0 ]; then
    echo "build-deb: lintian" >&2
    # --fail-on error,warning: an unexplained warning fails the build.
    if ! lintian --info --display-info --fail-on error,warning "$changes" >"$out/lintian.txt" 2>&1; then
        cat "$out/lintian.txt" >&2
        echo "build-deb: lintian found errors or warnings (above)" >&2
        exit 1
    fi
    cat "$out/lintian.txt" >&2
fi
rm -rf "$stage"
echo "packages:"
ls "$out"/*.deb
