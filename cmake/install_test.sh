#!/bin/sh
# The install test: installs a build into a scratch DESTDIR, checks what
# landed where, then compiles examples/call_export.c out of tree the way a
# user would, with nothing but the installed files and pkg-config, and
# runs it against the shared and the static library.
#
#   install_test.sh BUILD_DIR SOURCE_DIR CC CALC_WASM [EXTRA_CFLAGS] [SHARED]
#
# EXTRA_CFLAGS are the sanitizer flags of a sanitizer build (its library
# needs them at link time too); SHARED is 1 if libmyriad.so was built.
set -eu
build=$1 src=$2 cc=$3 wasm=$4 extra=${5:-} shared=${6:-1}
case $shared in ON | TRUE | 1) shared=1 ;; *) shared=0 ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
prefix=/opt/myriad-test
root=$stage$prefix

fail() {
	echo "install test: $*" >&2
	exit 1
}

DESTDIR=$stage cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
	{ cat "$tmp/install.log"; fail "cmake --install failed"; }

for f in include/myriad.h lib/libmyriad.a lib/pkgconfig/myriad.pc bin/myriad; do
	[ -f "$root/$f" ] || fail "$prefix/$f was not installed"
done
"$root/bin/myriad" --version | grep -q '^myriad ' || fail "installed myriad does not run"
grep -qx "prefix=$prefix" "$root/lib/pkgconfig/myriad.pc" ||
	fail "myriad.pc does not name the prefix $prefix"

# The staged tree as if it were installed: pkg-config puts the sysroot in
# front of the -I and -L paths it prints.
export PKG_CONFIG_PATH="$root/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage"
export PKG_CONFIG_LIBDIR="$root/lib/pkgconfig"
cflags=$(pkg-config --cflags myriad)
libs=$(pkg-config --libs myriad)
[ "$(pkg-config --modversion myriad)" = "$(sed -n 's/^#define MYR_VERSION "\(.*\)"/\1/p' "$src/include/myriad.h")" ] ||
	fail "pkg-config --modversion differs from MYR_VERSION"

check_run() { # program, how it was linked
	"$@" "$wasm" >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "call_export ($how) failed"; }
	grep -q '^fib(50) = 12586269025$' "$tmp/out" &&
		grep -q '^divmod(1, 0) trapped: integer divide by zero' "$tmp/out" ||
		{ cat "$tmp/out"; fail "call_export ($how) printed something else"; }
}

# -lmyriad finds libmyriad.so first when there is one.
if [ "$shared" = 1 ]; then
	[ -f "$root/lib/libmyriad.so" ] || fail "libmyriad.so was not installed"
	# shellcheck disable=SC2086 # the flags are lists of words
	"$cc" -std=c11 -Wall -Wextra -Werror $extra $cflags \
		"$src/examples/call_export.c" $libs -o "$tmp/call_export_shared"
	how=shared
	check_run env LD_LIBRARY_PATH="$root/lib" "$tmp/call_export_shared"
	env LD_LIBRARY_PATH="$root/lib" ldd "$tmp/call_export_shared" |
		grep -q "$root/lib/libmyriad.so" || fail "not linked with libmyriad.so"
	# Exported: the public API and nothing else.
	others=$(nm -D --defined-only "$root/lib/libmyriad.so" |
		awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^myr_/ { print $3 }')
	[ -z "$others" ] || fail "libmyriad.so exports more than myr_ symbols: $others"
	# ... and all of it: every function myriad.h declares is defined.
	missing=$(grep -o 'myr_[a-z0-9_]*(' "$src/include/myriad.h" | tr -d '(' |
		sort -u | while read -r f; do
			nm -D --defined-only "$root/lib/libmyriad.so" |
				grep -q " $f\$" || echo "$f"
		done)
	[ -z "$missing" ] || fail "declared in myriad.h but not in libmyriad.so:" $missing
fi

# The static library: the flags of a static link (the compiler tier's
# libraries too), with -lmyriad asking for the .a.
static_libs=$(pkg-config --libs --static myriad | sed 's/-lmyriad\b/-l:libmyriad.a/')
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror $extra $cflags \
	"$src/examples/call_export.c" $static_libs -o "$tmp/call_export_static"
how=static
check_run "$tmp/call_export_static"
! ldd "$tmp/call_export_static" | grep -q libmyriad || fail "static build needs libmyriad.so"
# From CMake, as docs/guide-embedding.md shows (cmake/consumer/).
mkdir "$tmp/consumer"
cp "$src/cmake/consumer/CMakeLists.txt" "$tmp/consumer/"
cp "$src/examples/call_export.c" "$tmp/consumer/app.c"
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$extra" >"$tmp/consumer.log" 2>&1 &&
	cmake --build "$tmp/consumer/build" >>"$tmp/consumer.log" 2>&1 ||
	{ cat "$tmp/consumer.log"; fail "the CMake consumer does not build"; }
how=cmake
check_run env LD_LIBRARY_PATH="$root/lib" "$tmp/consumer/build/app"
echo "install test: ok"
