#!/bin/bash
# Faults and races, berth and runc side by side (issue 15; `make stress`).
#
# usage: integration/stress.sh [ROUNDS]   (default 10; needs root)
#   BERTH=path (default target/release/berth), RUNC=runc (empty: berth only)
#
# Two families of scenarios, each run ROUNDS times per runtime:
#   kill:VERB     the verb is started on a container in the state it needs,
#                 then SIGKILLed after a random delay (0-60 ms), as an
#                 engine's timeout would;
#   race:A+B      two verbs on one container at the same time.
# After every round the container is checked: `state` must answer with a
# status that matches the processes (an init for created/running/paused),
# no verb may hang (20 s), a `created` container must start, nothing but
# `pause` may leave it paused, and `delete --force` must then remove it
# completely. Each row prints what was wrong and what was left behind:
# state directories, cgroups, mounts and processes.
#
# Everything is private: state roots /run/berth-stress-<pid>-<runtime>,
# cgroups /berth-stress-<pid>/..., a work dir in /tmp; all removed at the
# end (what a runtime left behind is counted first, then cleaned up).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
ROUNDS=${1:-10}
BERTH=${BERTH:-$REPO/target/release/berth}
RUNC=${RUNC-$(command -v runc || true)}
BUSYBOX=${BUSYBOX:-/bin/busybox}
HANG=20
[ "$(id -u)" = 0 ] || { echo "stress: needs root" >&2; exit 2; }
[ -x "$BERTH" ] || { echo "stress: $BERTH missing (make build)" >&2; exit 2; }

TAG=berth-stress-$$
W=$(mktemp -d "/tmp/$TAG.XXXXXX")
chmod 755 "$W"
CG=/$TAG

cgroup_mounts() { awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts; }

# pids of processes in any cgroup below $CG (the containers' processes)
stray_pids() {
	local f p
	for f in /proc/[0-9]*/cgroup; do
		grep -q ":$CG/" "$f" 2>/dev/null || continue
		p=${f#/proc/}
		p=${p%/cgroup}
		[ -s "/proc/$p/cmdline" ] && echo "$p"
	done
	return 0
}

cleanup() {
	local p m d
	for p in $(stray_pids); do kill -KILL "$p" 2>/dev/null; done
	sleep 0.2
	for m in $(awk -v p="$W/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
	for m in $(cgroup_mounts); do
		[ -d "$m$CG" ] || continue
		find "$m$CG" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	for d in /run/$TAG-*; do [ -d "$d" ] && rm -rf --one-file-system "$d"; done
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- bundle --

B=$W/bundle
mkdir -p "$B/rootfs"/{bin,proc,sys,dev,tmp,etc,root}
cp "$BUSYBOX" "$B/rootfs/bin/busybox"
for a in $("$BUSYBOX" --list); do [ -e "$B/rootfs/bin/$a" ] || ln -s busybox "$B/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$B/rootfs/etc/passwd"
echo 'root:x:0:' >"$B/rootfs/etc/group"
(cd "$B" && "$BERTH" spec >/dev/null) || exit 1
jq '.process.terminal = false | .process.args = ["sleep", "3597"] | .root.readonly = false' \
	"$B/config.json" >"$B/config.json.in"

# ---------------------------------------------------------------- a round --

RT= ROOT= N=0
# per scenario counters and notes
HANGS=0 BAD=0 CLEANFAIL=0 LEFT=0 NOTES=()

note() {
	[ ${#NOTES[@]} -lt 3 ] && NOTES+=("$*")
	return 0
}

rt() { "$RT" --root "$ROOT" "$@" 3>&- </dev/null; }

# config ID: the bundle's config for container ID (own cgroup below $CG)
config() {
	jq --arg p "$CG/$(basename "$RT")/$1" '.linux.cgroupsPath = $p' "$B/config.json.in" >"$B/config.json"
}

status_of() { rt state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
pid_of() { rt state "$1" 2>/dev/null | jq -r .pid 2>/dev/null; }

# prepare ID STATE: make container ID reach STATE (none created running
# paused stopped); returns 1 if the runtime cannot get there.
prepare() {
	local id=$1
	config "$id"
	case $2 in
	none) return 0 ;;
	created) rt create -b "$B" "$id" >"$W/prep.out" 2>&1 ;;
	running) rt run -d -b "$B" "$id" >"$W/prep.out" 2>&1 ;;
	paused) rt run -d -b "$B" "$id" >"$W/prep.out" 2>&1 && rt pause "$id" >>"$W/prep.out" 2>&1 ;;
	stopped)
		rt run -d -b "$B" "$id" >"$W/prep.out" 2>&1 && rt kill "$id" KILL >>"$W/prep.out" 2>&1 &&
			for _ in $(seq 50); do [ "$(status_of "$id")" = stopped ] && break; sleep 0.05; done
		;;
	esac
}

# verb ID NAME: start one verb in the background (its pid, the runtime's
# own, in $!)
verb() {
	local id=$1 args
	case $2 in
	create) args=(create -b "$B" "$id") ;;
	start) args=(start "$id") ;;
	run-d) args=(run -d -b "$B" "$id") ;;
	run) args=(run -b "$B" "$id") ;;
	exec) args=(exec "$id" sleep 1) ;;
	exec-d) args=(exec -d "$id" sleep 3597) ;;
	kill) args=(kill "$id" KILL) ;;
	pause) args=(pause "$id") ;;
	resume) args=(resume "$id") ;;
	delete) args=(delete "$id") ;;
	delete-f) args=(delete --force "$id") ;;
	state) args=(state "$id") ;;
	esac
	(exec "$RT" --root "$ROOT" "${args[@]}" </dev/null >/dev/null 2>&1 3>&-) &
}

# finish PID: wait for a background verb, at most $HANG s; 124 = it hung
finish() {
	local i
	for ((i = 0; i < HANG * 20; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# check ID ALLOW_PAUSED: is what `state` says true? then delete --force and
# look for leftovers of this one container.
check() {
	local id=$1 st pid m
	st=$(status_of "$id")
	pid=$(pid_of "$id")
	case $st in
	"") ;;
	created | running | paused)
		if ! kill -0 "$pid" 2>/dev/null; then
			BAD=$((BAD + 1))
			note "state says $st but its init ($pid) is gone"
		elif [ "$st" = paused ] && [ "$2" != paused-ok ]; then
			BAD=$((BAD + 1))
			note "left paused by a verb that does not pause"
		elif [ "$st" = created ]; then
			timeout -k 1 "$HANG" "$RT" --root "$ROOT" start "$id" </dev/null >/dev/null 2>&1 3>&-
			if [ $? -ge 124 ]; then
				BAD=$((BAD + 1))
				note "state says created, and start hangs"
			fi
		fi
		;;
	creating | stopped) ;;
	*)
		BAD=$((BAD + 1))
		note "state says '$st'"
		;;
	esac
	if ! timeout -k 1 "$HANG" "$RT" --root "$ROOT" delete --force "$id" </dev/null >"$W/del.out" 2>&1 3>&-; then
		CLEANFAIL=$((CLEANFAIL + 1))
		note "delete --force failed: $(head -c 200 "$W/del.out")"
	fi
	sleep 0.05
	local left=""
	[ -e "$ROOT/$id" ] && left+=" state-dir"
	for m in $(cgroup_mounts); do
		[ -d "$m$CG/$(basename "$RT")/$id" ] && { left+=" cgroup"; break; }
	done
	if [ -n "$(stray_pids | while read -r p; do grep -l "/$id\$" "/proc/$p/cgroup" 2>/dev/null; done)" ]; then
		left+=" processes"
	fi
	if [ -n "$left" ]; then
		LEFT=$((LEFT + 1))
		note "left after delete --force:$left"
		# clean up for the next round, by hand
		for p in $(stray_pids); do kill -KILL "$p" 2>/dev/null; done
		sleep 0.1
		for m in $(cgroup_mounts); do rmdir "$m$CG/$(basename "$RT")/$id" 2>/dev/null; done
		rm -rf "${ROOT:?}/$id"
	fi
	return 0
}

# kill_round VERB PRE: VERB on a container in state PRE, SIGKILLed at random
kill_round() {
	local id=k$N pid
	prepare "$id" "$2" || { note "could not prepare a $2 container: $(head -c 200 "$W/prep.out")"; return 0; }
	verb "$id" "$1"
	pid=$!
	sleep "0.0$((RANDOM % 60 / 10))$((RANDOM % 10))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local ok=no
	[ "$1" = pause ] && ok=paused-ok
	[ "$2" = paused ] && ok=paused-ok
	check "$id" "$ok"
}

# race_round A B PRE: A and B at once on a container in state PRE
race_round() {
	local id=r$N a b ra rb
	prepare "$id" "$3" || { note "could not prepare a $3 container: $(head -c 200 "$W/prep.out")"; return 0; }
	verb "$id" "$1"
	a=$!
	verb "$id" "$2"
	b=$!
	finish "$a"
	ra=$?
	finish "$b"
	rb=$?
	if [ "$ra" = 124 ] || [ "$rb" = 124 ]; then
		HANGS=$((HANGS + 1))
		note "a verb hung (exits $ra, $rb)"
	fi
	if [ "$1+$2" = start+start ] && [ $((ra == 0)) -eq $((rb == 0)) ]; then
		BAD=$((BAD + 1))
		note "two starts: exits $ra and $rb (want one success)"
	fi
	local ok=no
	[[ "$1 $2 $3" == *pause* ]] && ok=paused-ok
	check "$id" "$ok"
}

ROWS=()
# scenario NAME FUNCTION ARGS...: ROUNDS rounds for each runtime, one row each
scenario() {
	local name=$1 r
	shift
	for RT in "$BERTH" ${RUNC:+"$RUNC"}; do
		ROOT=/run/$TAG-$(basename "$RT")
		HANGS=0 BAD=0 CLEANFAIL=0 LEFT=0 NOTES=()
		for ((r = 0; r < ROUNDS; r++)); do
			N=$((N + 1))
			"$@"
		done
		local row
		row=$(printf '%-22s %-6s %5d %6d %6d %8d %6d' "$name" "$(basename "$RT")" "$ROUNDS" "$HANGS" "$BAD" "$CLEANFAIL" "$LEFT")
		echo "$row"
		ROWS+=("$row")
		for n in "${NOTES[@]}"; do echo "    - $n"; done
	done
}

echo "# stress: $ROUNDS rounds per scenario; berth=$BERTH runc=${RUNC:-none}"
printf '%-22s %-6s %5s %6s %6s %8s %6s\n' scenario rt rounds hangs wrong del-fail left
scenario kill:create kill_round create none
scenario kill:start kill_round start created
scenario kill:run-d kill_round run-d none
scenario kill:run kill_round run none
scenario kill:exec kill_round exec running
scenario kill:exec-d kill_round exec-d running
scenario kill:kill kill_round kill running
scenario kill:pause kill_round pause running
scenario kill:resume kill_round resume paused
scenario kill:delete kill_round delete stopped
scenario kill:delete-force kill_round delete-f running
scenario race:start+start race_round start start created
scenario race:start+delete-f race_round start delete-f created
scenario race:start+kill race_round start kill created
scenario race:start+delete race_round start delete created
scenario race:create+delete-f race_round create delete-f none
scenario race:create+state race_round create state none
scenario race:run-d+delete-f race_round run-d delete-f none
scenario race:exec+delete-f race_round exec delete-f running
scenario race:exec-d+pause race_round exec-d pause running
scenario race:pause+delete-f race_round pause delete-f running
scenario race:pause+resume race_round pause resume running

# whatever is still there after every round's delete --force
echo
echo "# left behind at the end (after each round's delete --force)"
for RT in "$BERTH" ${RUNC:+"$RUNC"}; do
	ROOT=/run/$TAG-$(basename "$RT")
	dirs=$(ls -A "$ROOT" 2>/dev/null | wc -l)
	cgs=0
	for m in $(cgroup_mounts); do
		[ -d "$m$CG/$(basename "$RT")" ] && cgs=$((cgs + $(find "$m$CG/$(basename "$RT")" -mindepth 1 -type d | wc -l)))
	done
	mnts=$(awk -v p="$W/" 'index($5, p) == 1' /proc/self/mountinfo | wc -l)
	procs=$(stray_pids | while read -r p; do grep -l ":$CG/$(basename "$RT")/" "/proc/$p/cgroup" 2>/dev/null; done | wc -l)
	printf '%-6s state dirs %d, cgroups %d, mounts %d, processes %d\n' "$(basename "$RT")" "$dirs" "$cgs" "$mnts" "$procs"
done
