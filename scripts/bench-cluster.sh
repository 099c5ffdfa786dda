#!/usr/bin/env bash
# Starts a standalone Release cluster (1 leader, N members, fsync on, no telemetry exporter) in a temporary
# directory, runs the client's bench verb against it, and stops everything. When redis-server is installed
# (apt-get install redis-server) it also starts Redis with AOF and fsync on every write
# (--appendonly yes --appendfsync always) and runs the same workload against it in the same invocation.
# Set NO_REDIS=1 to skip Redis.
#   scripts/bench-cluster.sh [members=3] [tolerance=2] [bench args…]
# Example: scripts/bench-cluster.sh 3 2 --connections 50 --requests 100000 --payload 100
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-3}; tolerance=${2:-2}; shift $(( $# > 2 ? 2 : $# ))
bench_args=("$@"); [ ${#bench_args[@]} -gt 0 ] || bench_args=(--connections 50 --requests 100000 --payload 100)

dotnet build Tolerex.sln -c Release -v q -nologo >/dev/null
data=$(mktemp -d); pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
base=${BENCH_BASE_PORT:-$((20000 + RANDOM % 20000))}
export Logging__LogLevel__Default=Warning
LEADER_GRPC_PORT=$base LEADER_TCP_PORT=$((base+1)) LEADER_METRICS_PORT=$((base+2)) LEADER_RESP_PORT=$((base+3)) TOLERANCE=$tolerance \
  dotnet Tolerex.Leader/bin/Release/net10.0/Tolerex.Leader.dll --data-dir "$data/leader" >"$data/leader.log" 2>&1 & pids+=($!)
for i in $(seq 1 "$members"); do
  LEADER_ADDR=localhost:$base dotnet Tolerex.Member/bin/Release/net10.0/Tolerex.Member.dll \
    --port $((base+10+i)) --metrics $((base+30+i)) --data-dir "$data/member$i" >"$data/member$i.log" 2>&1 & pids+=($!)
done
redis_args=()
if [ -z "${NO_REDIS:-}" ] && command -v redis-server >/dev/null; then
  redis-server --port $((base+50)) --dir "$data" --appendonly yes --appendfsync always --save "" \
    --daemonize no >"$data/redis.log" 2>&1 & pids+=($!)
  redis_args=(--redis localhost:$((base+50)))
fi
client=(dotnet Tolerex.Client/bin/Release/net10.0/tolerex.dll)
for _ in $(seq 1 100); do
  alive=$(printf 'MEMBERS\nQUIT\n' | timeout 2 "${client[@]}" --addr localhost:$((base+1)) 2>/dev/null | grep -c "alive=true" || true)
  [ "$alive" -ge "$members" ] && break; sleep 0.2
done
if [ "${alive:-0}" -lt "$members" ]; then
  echo "error: the cluster did not come up ($alive of $members members alive); leader log:" >&2
  tail -20 "$data/leader.log" >&2
  exit 1
fi
echo "cluster: $members members, tolerance $tolerance, leader on localhost:$((base+1))"
"${client[@]}" bench --addr localhost:$((base+1)) "${bench_args[@]}" "${redis_args[@]}"
