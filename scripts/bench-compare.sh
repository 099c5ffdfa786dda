#!/usr/bin/env bash
# Two or more builds of Tolerex side by side against Redis, in one run: for each LABEL=CHECKOUT (a clone whose
# Release build is done, e.g. `git worktree add ../old <rev> && dotnet build ../old/Tolerex.sln -c Release`) it
# starts a standalone cluster (1 leader, 3 members, tolerance 2, fsync, mutual TLS), and Redis with
# --appendonly yes --appendfsync always. Each gets 60,000 unmeasured SETs; then per round: Redis, then each
# build, SET then GET, with the same tload command line. Prints tload's JSON line per run, the ratio to Redis
# and the cluster's CPU per operation (all its processes, from /proc/<pid>/stat).
# A build may carry settings for its nodes: LABEL=CHECKOUT,VAR=VALUE,... (e.g. os=.,Tolerex__Member__Durability=Os
# compares a setting on one build; the variables reach every node of that cluster).
# Needs redis-server, redis-cli and tload (TLOAD=path/to/tload; build it from the performance issue's tload.c).
#   CONNS=1 N=3000 ROUNDS=1 scripts/bench-compare.sh before=../old after=.
set -u
T=${TLOAD:-tload}
command -v "$T" >/dev/null || { echo "error: tload not found (set TLOAD=path/to/tload)" >&2; exit 1; }
for tool in redis-server redis-cli; do
  command -v $tool >/dev/null || { echo "error: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
[ $# -ge 1 ] || { echo "usage: $0 LABEL=CHECKOUT..." >&2; exit 2; }
rounds=${ROUNDS:-2}; n=${N:-100000}; conns=${CONNS:-50}
data=$(mktemp -d); pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept $data" || rm -rf "$data"; }
trap cleanup EXIT
base=$((20000 + RANDOM % 20000))
export Logging__LogLevel__Default=Warning
redis-server --port $((base+90)) --dir "$data" --appendonly yes --appendfsync always --save "" --daemonize no >"$data/redis.log" 2>&1 & pids+=($!)
sleep 0.5
$T -p $((base+90)) -c 50 -n 60000 -t set --idbase 9000000 >/dev/null
start() { # checkout[,VAR=VALUE...] port-base: prints the cluster's pids
  local dir b=$2 own=() settings=()
  IFS=, read -r -a settings <<<"$1"
  dir=$(cd "${settings[0]}" && pwd)
  settings=("${settings[@]:1}")
  env "${settings[@]}" LEADER_GRPC_PORT=$b LEADER_TCP_PORT=$((b+1)) LEADER_METRICS_PORT=$((b+2)) LEADER_RESP_PORT=$((b+3)) TOLERANCE=2 \
    dotnet "$dir/Tolerex.Leader/bin/Release/net10.0/Tolerex.Leader.dll" --data-dir "$data/l$b" >"$data/leader$b.log" 2>&1 & own+=($!)
  for i in 1 2 3; do
    env "${settings[@]}" LEADER_ADDR=localhost:$b dotnet "$dir/Tolerex.Member/bin/Release/net10.0/Tolerex.Member.dll" \
      --port $((b+10+i)) --metrics $((b+30+i)) --data-dir "$data/m$b-$i" >"$data/member$b-$i.log" 2>&1 & own+=($!)
  done
  echo "${own[*]}"
}
ready() { # RESP port: waits until the leader names 3 live members
  for _ in $(seq 1 150); do
    alive=$(timeout 2 redis-cli -p "$1" INFO 2>/dev/null | tr -d '\r' | sed -n 's/^members_alive://p')
    [ "${alive:-0}" -ge 3 ] && return 0; sleep 0.2
  done
  echo "error: cluster on port $1 did not come up (logs in $data)" >&2; exit 1
}
cpu() { local s=0 f; for p in "$@"; do read -r -a f < "/proc/$p/stat"; s=$((s + f[13] + f[14])); done; echo $s; }
declare -A port own
i=0
for spec in "$@"; do label=${spec%%=*}; b=$((base + 100*i)); port[$label]=$((b+1))
  own[$label]=$(start "${spec#*=}" $b); read -r -a p <<<"${own[$label]}"; pids+=("${p[@]}")
  ready $((b+3))
  $T -p $((b+1)) --banner -c 50 -n 60000 -t set --idbase 9000000 >/dev/null
  i=$((i+1))
done
tick=$(getconf CLK_TCK)
for r in $(seq 1 "$rounds"); do
  for op in set get; do
    id=$(( (r*2 + 1) * 1000000 ))
    rj=$($T -p $((base+90)) -c "$conns" -n "$n" -t $op --idbase $id)
    rops=$(sed 's/.*"ops_per_s":\([0-9]*\).*/\1/' <<<"$rj")
    echo "round $r $op redis: $rj"
    for spec in "$@"; do label=${spec%%=*}
      read -r -a p <<<"${own[$label]}"
      c0=$(cpu "${p[@]}")
      tj=$($T -p "${port[$label]}" --banner -c "$conns" -n "$n" -t $op --idbase $id)
      c1=$(cpu "${p[@]}")
      tops=$(sed 's/.*"ops_per_s":\([0-9]*\).*/\1/' <<<"$tj")
      echo "round $r $op $label: $tj ratio=$(echo "scale=3; $tops/$rops" | bc) cpu_us_per_op=$(echo "scale=1; ($c1-$c0)*1000000/$tick/$n" | bc)"
    done
  done
done
