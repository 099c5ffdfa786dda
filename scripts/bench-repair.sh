#!/usr/bin/env bash
# Self-healing figures: how long a standalone Release cluster (1 leader, 4 members, tolerance 2, fsync on,
# Tolerex:Leader:ReplaceAfter=0s) takes to restore two copies of every id after a member is killed for good,
# what client throughput it keeps while repair runs, and how long the leader takes to see a frozen (SIGSTOP)
# member. Load comes from the client's bench verb (closed loop, 50 connections, 100-byte values): SETs
# (rewriting 10,000 ids of their own), then GETs of the ids written first, PHASE_SECONDS (5) each, two
# rounds before the loss, two during repair and two after it (the figures are the means). "After" has the
# same three members as "during", so during/after is what repair itself costs the clients.
#   scripts/bench-repair.sh [ids=100000] [leader settings as Tolerex__Leader__X=value …]
# Example: scripts/bench-repair.sh 100000 Tolerex__Leader__RepairCopiesPerSecond=4000
set -euo pipefail
cd "$(dirname "$0")/.."
ids=${1:-100000}; shift $(( $# > 0 ? 1 : 0 ))
members=4; phase=${PHASE_SECONDS:-5}

dotnet build Tolerex.sln -c Release -v q -nologo >/dev/null
data=$(mktemp -d); pids=()
cleanup() { kill -CONT "${pids[@]}" 2>/dev/null || true; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
base=${BENCH_BASE_PORT:-$((20000 + RANDOM % 10000))}
export Logging__LogLevel__Default=Warning
env Tolerex__Leader__GrpcPort=$base Tolerex__Leader__TcpPort=$((base+1)) Tolerex__Leader__MetricsPort=$((base+2)) Tolerex__Leader__RespPort=$((base+3)) \
  Tolerex__Leader__Tolerance=2 Tolerex__Leader__ReplaceAfter=0s "$@" \
  dotnet Tolerex.Leader/bin/Release/net10.0/Tolerex.Leader.dll --data-dir "$data/leader" >"$data/leader.log" 2>&1 & pids+=($!)
member_pids=()
for i in $(seq 1 $members); do
  Tolerex__Member__Leader=localhost:$base Tolerex__Member__Port=$((base+10+i)) Tolerex__Member__MetricsPort=$((base+30+i)) \
    dotnet Tolerex.Member/bin/Release/net10.0/Tolerex.Member.dll --data-dir "$data/member$i" >"$data/member$i.log" 2>&1 &
  pids+=($!); member_pids+=($!)
done
client=(dotnet Tolerex.Client/bin/Release/net10.0/tolerex.dll)
addr=localhost:$((base+1))
# STATUS over bash's /dev/tcp: polling must not start a process that competes with the cluster for CPU.
status() {
  exec 3<>"/dev/tcp/127.0.0.1/$((base+1))" 2>/dev/null || return 0
  printf 'STATUS\r\nQUIT\r\n' >&3
  timeout 5 cat <&3 | tr -d '\r' | sed -n "s/^\(tolerex> \)*$1=//p"
  exec 3<&-
}
now() { date +%s.%N; }
wait_for() { # seconds, description, condition…: polls the condition, stops the script when it does not hold in time
  local limit=$1 what=$2; shift 2; local end=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $end ] || { echo "error: no $what after ${limit} s; leader log:" >&2; tail -20 "$data/leader.log" >&2; exit 1; }
    sleep 0.05
  done
}
under_replicated() { [ "$(status under_replicated)" -gt 0 ] 2>/dev/null; }
repaired() { [ "$(status under_replicated)" = 0 ] && [ "$(status repair)" = idle ]; }
alive_is() { [ "$(status members_alive)" = "$1" ]; }
secs() { echo "scale=2; ($2 - $1)/1" | bc; }
wait_for 60 "cluster of $members members" alive_is "$members"

bench() { # label, bench args…: prints ops/s
  local label=$1; shift
  "${client[@]}" bench --addr "$addr" --connections 50 --payload 100 --warmup 1 --json "$data/$label.json" "$@" >/dev/null
  sed 's/.*"opsPerSecond":\([0-9.]*\).*/\1/' "$data/$label.json" | cut -d. -f1
}
rounds() { # label: two rounds of SETs and GETs; prints "set get" (the means)
  local s=0 g=0
  for r in 1 2; do
    # SETs rewrite ids of their own range (10,000 of them), so the ids written first stay the ones to repair.
    s=$((s + $(bench "$1-set$r" --duration "$phase" --start-id 1000000000 --key-space 10000)))
    g=$((g + $(bench "$1-get$r" --duration "$phase" --get-ratio 1 --start-id 1 --key-space "$ids")))
  done
  echo "$((s / 2)) $((g / 2))"
}
echo "cluster: $members members, tolerance 2, ReplaceAfter 0s; writing $ids ids"
"${client[@]}" bench --addr "$addr" --connections 50 --payload 100 --warmup 0 --requests "$ids" --start-id 1 >/dev/null
# Unmeasured mixed load, so that every node's code is warm (tiered JIT) before the first measurement.
"${client[@]}" bench --addr "$addr" --connections 50 --payload 100 --warmup 0 --duration 10 --get-ratio 0.5 --start-id 1 --key-space "$ids" >/dev/null
read -r set_before get_before < <(rounds before)

copies_before=$(status repaired_copies)
killed=$(now); kill -9 "${member_pids[0]}"
wait_for 60 "under-replicated ids" under_replicated
detected=$(now); lost=$(status under_replicated)
read -r set_during get_during < <(rounds during)
still_running=$(status repair)
wait_for 3600 "end of repair" repaired
restored=$(now); copies=$(( $(status repaired_copies) - copies_before ))
read -r set_after get_after < <(rounds after)

kill -STOP "${member_pids[1]}"; frozen=$(now)
wait_for 60 "frozen member marked down" alive_is $((members - 2))
seen=$(now); kill -CONT "${member_pids[1]}"

echo "member killed: marked down after $(secs "$killed" "$detected") s; $lost ids (of $(status ids)) had a copy on it"
echo "repair: every id back to 2 copies $(secs "$detected" "$restored") s later ($(secs "$killed" "$restored") s after the kill;" \
  "$copies copies, $(echo "$copies / ($restored - $detected)" | bc) copies/s); repair was still $still_running when the measurements during repair ended"
ratio() { echo "scale=2; $1 / $2" | bc; }
echo "SET ops/s: before the loss $set_before; during repair $set_during; after repair $set_after (during/after $(ratio "$set_during" "$set_after")×, during/before $(ratio "$set_during" "$set_before")×)"
echo "GET ops/s: before the loss $get_before; during repair $get_during; after repair $get_after (during/after $(ratio "$get_during" "$get_after")×, during/before $(ratio "$get_during" "$get_before")×)"
echo "frozen member (SIGSTOP) marked down after $(secs "$frozen" "$seen") s"
