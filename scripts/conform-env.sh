#!/usr/bin/env bash
# conform-env.sh: prepare the real interpreters that `shutdownfuzz conform` runs
# scenarios on. Idempotent: a second run only checks and returns.
#   - CPython 3.11 and g++ from the host's apt (Debian bookworm: python3.11-dev, g++ 12);
#   - a cached Debian sid root built with debootstrap for 3.13 and 3.14.
# The mirror is read from the machine's own apt sources at run time.
# Cache: $SFZ_CONFORM_ROOT (default /var/cache/shutdownfuzz/sid), outside the tree.
set -euo pipefail

ROOT="${SFZ_CONFORM_ROOT:-/var/cache/shutdownfuzz/sid}"
STAMP="$ROOT/.sfz-complete"
SID_PKGS="python3.13-dev,python3.14-dev,g++"

log() { printf 'conform-env: %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		log "must run as root (apt-get and debootstrap); rerun with sudo"
		exit 1
	fi
}

# apt_install PKG...: installs only the packages that are missing.
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	need_root
	log "apt-get install ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
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

apt_install python3.11-dev g++ debootstrap

if [ -f "$STAMP" ]; then
	log "sid root ready at $ROOT ($(cat "$STAMP"))"
	exit 0
fi
need_root
M=$(mirror) || { log "no Debian mirror found in /etc/apt/sources.list.d"; exit 1; }
# A partial root from an interrupted run is removed and rebuilt.
rm -rf --one-file-system "$ROOT.tmp"
if [ -e "$ROOT" ]; then
	log "removing incomplete root $ROOT"
	rm -rf --one-file-system "$ROOT"
fi
mkdir -p "$(dirname "$ROOT")"
log "debootstrap sid into $ROOT (a few minutes)"
start=$(date +%s)
debootstrap --variant=minbase --include="$SID_PKGS" sid "$ROOT.tmp" "$M" >"$ROOT.log" 2>&1 || {
	log "debootstrap failed; see $ROOT.log"
	exit 1
}
mv "$ROOT.tmp" "$ROOT"
vers=$(chroot "$ROOT" sh -c 'python3.13 -c "import sys;print(sys.version.split()[0])"; python3.14 -c "import sys;print(sys.version.split()[0])"' | tr '\n' ' ')
echo "python $vers built in $(($(date +%s) - start)) s on $(date -u +%F)" >"$STAMP"
log "sid root ready at $ROOT ($(cat "$STAMP"))"
