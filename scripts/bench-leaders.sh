#!/usr/bin/env bash
# One leader node against a leader group of three, side by side, against Redis. Builds in Release and starts two
# standalone clusters, "one" (a leader node) and "three" (LEADER_PEERS, three leader nodes), each with 3 members
# (tolerance 2, fsync, mutual TLS), and Redis with --appendonly yes --appendfsync always. Each gets 60,000
# unmeasured SETs; then per round: Redis, "one", "three" through its leading node and "three" through a
# follower (forwarded), SET then GET, with the same tload command line (50 connections, 100-byte values).
# Needs redis-server, redis-cli and tload (the load generator the performance issue names; TLOAD=path/to/tload).
#   ROUNDS=2 N=50000 scripts/bench-leaders.sh
set -u
cd "$(dirname "$0")/.."
T=${TLOAD:-tload}
command -v "$T" >/dev/null || { echo "error: tload not found (set TLOAD=path/to/tload)" >&2; exit 1; }
for tool in redis-server redis-cli; do
  command -v $tool >/dev/null || { echo "error: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
dir=$PWD; rounds=${ROUNDS:-3}; n=${N:-100000}; conns=${CONNS:-50}
dotnet build Tolerex.sln -c Release -v q -nologo >/dev/null
data=$(mktemp -d); pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
base=$((20000 + RANDOM % 20000))
export Logging__LogLevel__Default=Warning
redis-server --port $((base+90)) --dir "$data" --appendonly yes --appendfsync always --save "" --daemonize no >"$data/redis.log" 2>&1 & pids+=($!)
sleep 0.5
$T -p $((base+90)) -c 50 -n 60000 -t set --idbase 9000000 >/dev/null
L=$dir/Tolerex.Leader/bin/Release/net10.0/Tolerex.Leader.dll; M=$dir/Tolerex.Member/bin/Release/net10.0/Tolerex.Member.dll
start() { # leaders port-base
  local k=$1 b=$2 peers="" addrs
  for j in $(seq 1 $k); do peers+="${peers:+,}localhost:$((b+3*j))"; done
  local extra=(); [ "$k" -gt 1 ] && extra=(LEADER_PEERS=$peers)
  for j in $(seq 1 $k); do
    env "${extra[@]}" LEADER_GRPC_PORT=$((b+3*j)) LEADER_TCP_PORT=$((b+3*j+1)) LEADER_METRICS_PORT=$((b+3*j+2)) LEADER_RESP_PORT=$((b+50+j)) TOLERANCE=2 \
      dotnet $L --data-dir "$data/l$b-$j" --Tolerex:Leader:Name=l$j >"$data/leader$b-$j.log" 2>&1 & pids+=($!)
  done
  for i in 1 2 3; do
    LEADER_ADDR=$peers dotnet $M --port $((b+40+i)) --metrics $((b+60+i)) --data-dir "$data/m$b-$i" >"$data/member$b-$i.log" 2>&1 & pids+=($!)
  done
}
# INFO over RESP; a node that does not lead passes the connection to the one that does, which answers.
info() { timeout 3 redis-cli -p $1 INFO 2>/dev/null | tr -d '\r' || true; }
b1=$((base+100)); b3=$((base+200))
start 1 $b1; start 3 $b3
p3=""
for _ in $(seq 1 150); do
  a1=$(info $((b1+51)) | sed -n 's/^members_alive://p')
  s3=$(info $((b3+51))); name=$(echo "$s3" | sed -n 's/^node:l//p'); a3=$(echo "$s3" | sed -n 's/^members_alive://p')
  [ -n "$name" ] && p3=$((b3+3*name+1))
  [ "${a1:-0}" -ge 3 ] && [ "${a3:-0}" -ge 3 ] && [ -n "$p3" ] && break; sleep 0.3
done
if [ "${a1:-0}" -lt 3 ] || [ "${a3:-0}" -lt 3 ] || [ -z "$p3" ]; then
  echo "error: the clusters did not come up (members alive: ${a1:-0} and ${a3:-0} of 3; group leader: ${p3:-none})" >&2
  exit 1
fi
p1=$((b1+4)); f3=$(for j in 1 2 3; do [ $((b3+3*j+1)) != "$p3" ] && echo $((b3+3*j+1)) && break; done)
echo "one leader: $p1; group of three: leader $p3, a follower $f3"
for p in $p1 $p3; do $T -p $p --banner -c 50 -n 60000 -t set --idbase 9000000 >/dev/null; done
for r in $(seq 1 $rounds); do
  for op in set get; do
    id=$(( (r*2 + 1) * 1000000 ))
    rj=$($T -p $((base+90)) -c $conns -n $n -t $op --idbase $id); rops=$(echo "$rj" | sed 's/.*"ops_per_s":\([0-9]*\).*/\1/')
    echo "round $r $op redis: $rj"
    for spec in one=$p1 three=$p3 three-via-follower=$f3; do label=${spec%%=*}; p=${spec#*=}
      [ $label = three-via-follower ] && [ $op = set ] && idx=$((id + 500000)) || idx=$id
      [ $label = three-via-follower ] && [ $op = get ] && idx=$((id + 500000))
      tj=$($T -p $p --banner -c $conns -n $n -t $op --idbase $idx); tops=$(echo "$tj" | sed 's/.*"ops_per_s":\([0-9]*\).*/\1/')
      echo "round $r $op $label: $tj ratio=$(echo "scale=3; $tops/$rops" | bc)"
    done
  done
done
