# Fetch an upstream tarball from a Debian source package, with apt's own
# signature checks, through a private deb-src list (the system's apt state is
# untouched). Sourced by criu-build.sh and conformance.sh; the caller defines
# say() and die().

# the first Debian archive URI configured on this machine
debian_mirror() {
	{
		grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | sed 's/^[[:space:]]*URIs:[[:space:]]*//' | tr ' ' '\n'
		grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -oE '[a-z+]+://[^ ]+'
	} | grep -E '/debian/?$' | head -n1
}

# debsrc_fetch CACHE MIRROR SUITE PKG=VERSION ORIG SHA256: print the path of
# ORIG (in CACHE/download), fetched unless a copy with that checksum is there.
# Success is judged by the checksum alone: some mirrors 404 on the package's
# other files (.dsc, .debian.tar.xz) after the orig tarball arrived.
debsrc_fetch() {
	local cache=$1 mirror=$2 suite=$3 pkgver=$4 orig=$5 sha=$6
	local dl=$cache/download apt=$cache/apt f
	f=$dl/$orig
	mkdir -p "$dl"
	if [ -f "$f" ] && echo "$sha  $f" | sha256sum -c --status; then echo "$f"; return; fi
	[ -n "$mirror" ] || mirror=$(debian_mirror)
	[ -n "$mirror" ] || die "no Debian mirror found in the apt sources"
	mkdir -p "$apt/lists/partial" "$apt/sources.d"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$apt/sources.list"
	local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/sources.d"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
		-o "APT::Sandbox::User=root")
	say "fetching the $pkgver source package from $mirror ($suite)"
	apt-get "${opts[@]}" update >&2 || die "apt-get update of the private deb-src list failed"
	(cd "$dl" && apt-get "${opts[@]}" source --download-only "$pkgver" >&2) || true
	echo "$sha  $f" | sha256sum -c --status || die "could not fetch $orig (sha256 mismatch or missing)"
	echo "$f"
}
