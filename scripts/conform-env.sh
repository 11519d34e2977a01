#!/usr/bin/env bash
# conform-env.sh: prepare the real interpreters that `shutdownfuzz conform` runs
# scenarios on (docs/conformance.md). Idempotent: a second run only checks and returns.
#   - CPython 3.11 and g++ from the host's apt (Debian bookworm: python3.11-dev, g++ 12);
#   - a cached Debian sid root built with debootstrap for 3.13, 3.14 and 3.15.
# An existing root that lacks a package (a root built before 3.15 was added)
# gains it with `chroot ROOT apt-get install`; it is not rebuilt.
#
# With --dbg (make conform-env-dbg) it also installs the debug builds:
# python3.11-dbg on the host and python3.13-dbg, python3.14-dbg and
# python3.15-dbg in the root (python3.Xd, python3.Xd-config). They are opt-in:
# about 150 MB more to download and unpack, which no conformance run needs yet.
#
# The mirror is read from the machine's own apt sources at run time.
# Cache: $SFZ_CONFORM_ROOT (default /var/cache/shutdownfuzz/sid), outside the tree.
# The stamp $ROOT/.sfz-complete records the installed releases, one per line.
set -euo pipefail

ROOT="${SFZ_CONFORM_ROOT:-/var/cache/shutdownfuzz/sid}"
STAMP="$ROOT/.sfz-complete"
SID_VERSIONS="3.13 3.14 3.15"
HOST_PKGS=(python3.11-dev g++ debootstrap)
SID_PKGS=(g++)
for v in $SID_VERSIONS; do SID_PKGS+=("python$v-dev"); done

DBG=0
case "${1:-}" in
--dbg) DBG=1 ;;
"") ;;
*)
	printf 'usage: %s [--dbg]\n' "$0" >&2
	exit 2
	;;
esac
if [ "$DBG" = 1 ]; then
	HOST_PKGS+=(python3.11-dbg)
	for v in $SID_VERSIONS; do SID_PKGS+=("python$v-dbg"); done
fi

log() { printf 'conform-env: %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		log "must run as root (apt-get, debootstrap and chroot); rerun with sudo"
		exit 1
	fi
}

# missing ADMINDIR PKG...: prints the packages not installed in the dpkg
# database ADMINDIR (the host's or the root's; read without chroot).
missing() {
	local admin=$1 p
	shift
	for p in "$@"; do
		dpkg-query --admindir="$admin" -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

# apt_install PKG...: installs on the host only the packages that are missing.
apt_install() {
	local m
	mapfile -t m < <(missing /var/lib/dpkg "$@")
	[ ${#m[@]} -eq 0 ] && return 0
	need_root
	log "apt-get install ${m[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${m[@]}" >/dev/null
}

# mirror prints the first Debian archive URL of the machine's apt sources
# (deb822 "URIs:" lines or one-line "deb URL suite" entries), skipping security.
mirror() {
	local f u
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
		[ -f "$f" ] || continue
		u=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i} /^deb / {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' "$f" |
			grep -E '/debian/?$' | grep -v security | head -n1 || true)
		if [ -n "$u" ]; then
			echo "$u"
			return 0
		fi
	done
	return 1
}

# write_stamp SECONDS: records what the root holds, one "key value" a line:
# each interpreter's sys.version (and its debug build's, when installed),
# g++'s version, the packages, and when.
write_stamp() {
	local v py line tmp="$STAMP.tmp"
	{
		for v in $SID_VERSIONS; do
			for py in "python$v" "python${v}d"; do
				[ -x "$ROOT/usr/bin/$py" ] || continue
				line=$(chroot "$ROOT" "/usr/bin/$py" -c 'import sys; print(sys.version.split()[0])')
				echo "$py $line"
			done
		done
		echo "g++ $(chroot "$ROOT" g++ -dumpfullversion)"
		echo "packages $(installed_pkgs)"
		echo "updated $(date -u +%F) ($1 s)"
	} >"$tmp"
	mv "$tmp" "$STAMP"
}

# installed_pkgs lists the root's python3.X-dev/-dbg packages with their versions.
installed_pkgs() {
	dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Package}=${Version} ' 'python3.1[0-9]-dev' 'python3.1[0-9]-dbg' 2>/dev/null | sed 's/ $//'
}

summary() { tr '\n' ';' <"$STAMP" | sed 's/;$//; s/;/; /g'; }

apt_install "${HOST_PKGS[@]}"

start=$(date +%s)
if [ -f "$STAMP" ]; then
	mapfile -t m < <(missing "$ROOT/var/lib/dpkg" "${SID_PKGS[@]}")
	if [ ${#m[@]} -eq 0 ]; then
		log "sid root ready at $ROOT ($(summary))"
		exit 0
	fi
	# A finished root that lacks packages (built before they were added)
	# gains them in place. The mirror may serve a frozen snapshot of sid
	# whose Release file has expired; apt-get would refuse it (debootstrap
	# does not check), so validity is not checked.
	need_root
	log "adding ${m[*]} to the sid root at $ROOT"
	[ -s "$ROOT/etc/resolv.conf" ] || cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
	{
		chroot "$ROOT" apt-get -o Acquire::Check-Valid-Until=false update -qq &&
			chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${m[@]}"
	} >>"$ROOT.log" 2>&1 || {
		log "apt-get install in the root failed; see $ROOT.log"
		exit 1
	}
	chroot "$ROOT" apt-get clean
	write_stamp $(($(date +%s) - start))
	log "sid root ready at $ROOT ($(summary))"
	exit 0
fi

need_root
M=$(mirror) || {
	log "no Debian mirror found in /etc/apt/sources.list.d"
	exit 1
}
# A partial root from an interrupted run is removed and rebuilt.
rm -rf --one-file-system "$ROOT.tmp"
if [ -e "$ROOT" ]; then
	log "removing incomplete root $ROOT"
	rm -rf --one-file-system "$ROOT"
fi
mkdir -p "$(dirname "$ROOT")"
log "debootstrap sid into $ROOT (a minute or two)"
pkgs=$(
	IFS=,
	echo "${SID_PKGS[*]}"
)
debootstrap --variant=minbase --include="$pkgs" sid "$ROOT.tmp" "$M" >"$ROOT.log" 2>&1 || {
	log "debootstrap failed; see $ROOT.log"
	exit 1
}
mv "$ROOT.tmp" "$ROOT"
chroot "$ROOT" apt-get clean
write_stamp $(($(date +%s) - start))
log "sid root ready at $ROOT ($(summary))"
