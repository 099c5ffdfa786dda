#!/usr/bin/env bash
# The reference benchmark: redis-benchmark with identical command lines against Tolerex's RESP port and against
# Redis with --appendonly yes --appendfsync always, in the same run on the same machine, then the HaToKuSe
# figures from the client's own bench verb. Starts a standalone Release cluster (1 leader, N members, tolerance
# T, fsync, mutual TLS, defaults otherwise) in a temporary directory and stops everything afterwards.
# Needs redis-server and redis-benchmark (apt-get install redis-server redis-tools).
#   scripts/bench-cluster.sh [members=3] [tolerance=2]
# Environment: N (requests per run, 100000), ROUNDS (2), NO_HATOKUSE=1 skips the bench verb.
# Prints one line per run and a Markdown table: medians over the rounds, ratio to Redis, CPU per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
members=${1:-3}; tolerance=${2:-2}
n=${N:-100000}; rounds=${ROUNDS:-2}
for tool in redis-server redis-benchmark; do
  command -v $tool >/dev/null || { echo "error: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

dotnet build Tolerex.sln -c Release -v q -nologo >/dev/null
data=$(mktemp -d); pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
base=${BENCH_BASE_PORT:-$((20000 + RANDOM % 20000))}
export Logging__LogLevel__Default=Warning
LEADER_GRPC_PORT=$base LEADER_TCP_PORT=$((base+1)) LEADER_METRICS_PORT=$((base+2)) LEADER_RESP_PORT=$((base+3)) TOLERANCE=$tolerance \
  dotnet Tolerex.Leader/bin/Release/net10.0/Tolerex.Leader.dll --data-dir "$data/leader" >"$data/leader.log" 2>&1 & pids+=($!)
procs=(leader:$!)
for i in $(seq 1 "$members"); do
  LEADER_ADDR=localhost:$base dotnet Tolerex.Member/bin/Release/net10.0/Tolerex.Member.dll \
    --port $((base+10+i)) --metrics $((base+30+i)) --data-dir "$data/member$i" >"$data/member$i.log" 2>&1 & pids+=($!)
  procs+=(member$i:$!)
done
redis-server --port $((base+50)) --dir "$data" --appendonly yes --appendfsync always --save "" \
  --daemonize no >"$data/redis.log" 2>&1 & pids+=($!)
redis_pid=$!
tolerex=$((base+3)); redis=$((base+50))
for _ in $(seq 1 150); do
  alive=$(redis-cli -p $tolerex INFO 2>/dev/null | tr -d '\r' | sed -n 's/^members_alive://p' || true)
  [ "${alive:-0}" -ge "$members" ] && redis-cli -p $redis PING >/dev/null 2>&1 && break; sleep 0.2
done
if [ "${alive:-0}" -lt "$members" ]; then
  echo "error: the cluster did not come up (${alive:-0} of $members members alive); leader log:" >&2
  tail -20 "$data/leader.log" >&2
  exit 1
fi
echo "cluster: $members members, tolerance $tolerance; Tolerex RESP on $tolerex, Redis (appendfsync always) on $redis"
echo "machine: $(nproc) cores, $(uname -r), redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"

value=$(head -c 100 /dev/zero | tr '\0' 'v')   # 100-byte values
ids=20000                                         # GETs read ids the warm-up wrote
cpu() { local s=0 f p; for p in "$@"; do read -r -a f < "/proc/$p/stat"; s=$((s + f[13] + f[14])); done; echo $s; }
tick=$(getconf CLK_TCK)
declare -A result cpu_of
# run NAME TARGET PORT REQUESTS ARGS…: one redis-benchmark run; prints its CSV row, keeps rps/p50/p99 and CPU.
run() {
  local name=$1 target=$2 port=$3 requests=$4; shift 4
  local own c0 c1 row
  if [ "$target" = redis ]; then own=($redis_pid); else own=("${pids[@]:0:$((members+1))}"); fi
  c0=$(cpu "${own[@]}"); local before=(); for p in "${procs[@]}"; do before+=($(cpu "${p#*:}")); done
  row=$(redis-benchmark -p "$port" -n "$requests" --csv "$@" | tail -1)
  c1=$(cpu "${own[@]}")
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"$(tr -d '"' <<<"$row")"
  result[$name/$target]+="$rps/$p50/$p99 "
  cpu_of[$name/$target]+="$(echo "scale=1; ($c1-$c0)*1000000/$tick/$requests" | bc) "
  if [ "$target" = tolerex ]; then
    local i=0 per=""; for p in "${procs[@]}"; do per+="${p%%:*}=$(echo "scale=1; ($(cpu "${p#*:}")-${before[$i]})*1000000/$tick/$requests" | bc) "; i=$((i+1)); done
    cpu_of[$name/per]=$per
  fi
  echo "$name $target: rps=$rps p50=${p50}ms p99=${p99}ms cpu_us_per_op=$(echo "scale=1; ($c1-$c0)*1000000/$tick/$requests" | bc)"
}

# Cold: the first 60,000 SETs after start, then the warm-up that writes every id GET will read.
for target in tolerex redis; do
  port=$tolerex; [ $target = redis ] && port=$redis
  run cold $target $port 60000 -c 50 -r $ids SET __rand_int__ "$value"
  redis-benchmark -p $port -n 100000 -c 50 -r $ids -q SET __rand_int__ "$value" >/dev/null
done
for r in $(seq 1 "$rounds"); do
  for target in redis tolerex; do
    port=$tolerex; [ $target = redis ] && port=$redis
    run "SET, 50 conns" $target $port "$n" -c 50 -r 1000000000 SET __rand_int__ "$value"
    run "SET, 200 conns" $target $port "$n" -c 200 -r 1000000000 SET __rand_int__ "$value"
    run "GET, 50 conns" $target $port "$n" -c 50 -r $ids GET __rand_int__
    run "SET, 50 conns, pipeline 16" $target $port "$n" -c 50 -P 16 -r 1000000000 SET __rand_int__ "$value"
    run "SET, 1 conn" $target $port $((n / 20)) -c 1 -r 1000000000 SET __rand_int__ "$value"
  done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { tr ' ' '\n' | sed '/^$/d' | cut -d/ -f"$1" | tr '\n' ' '; }
echo
echo "| Workload (100-byte values, redis-benchmark, medians of $rounds) | Tolerex | Redis fsync always | ratio | Tolerex p50 / p99 ms | Redis p50 / p99 ms | CPU µs/op Tolerex / Redis |"
echo "|---|---|---|---|---|---|---|"
for name in "SET, 50 conns" "SET, 200 conns" "GET, 50 conns" "SET, 50 conns, pipeline 16" "SET, 1 conn" cold; do
  t=$(field 1 <<<"${result[$name/tolerex]}" | median); rr=$(field 1 <<<"${result[$name/redis]}" | median)
  printf '| %s | %.0f/s | %.0f/s | %.2f | %s / %s | %s / %s | %s / %s |\n' "$name" "$t" "$rr" "$(echo "scale=3; $t/$rr" | bc)" \
    "$(field 2 <<<"${result[$name/tolerex]}" | median)" "$(field 3 <<<"${result[$name/tolerex]}" | median)" \
    "$(field 2 <<<"${result[$name/redis]}" | median)" "$(field 3 <<<"${result[$name/redis]}" | median)" \
    "$(median <<<"${cpu_of[$name/tolerex]}")" "$(median <<<"${cpu_of[$name/redis]}")"
done
echo
echo "CPU per operation by process, last run of each workload (µs):"
for name in "SET, 50 conns" "GET, 50 conns" "SET, 1 conn"; do echo "  $name: ${cpu_of[$name/per]}"; done

if [ -z "${NO_HATOKUSE:-}" ]; then
  echo
  echo "HaToKuSe (the client's bench verb, 50 connections, 100,000 SETs of 100 bytes):"
  dotnet Tolerex.Client/bin/Release/net10.0/tolerex.dll bench --addr localhost:$((base+1)) --connections 50 --requests 100000 --payload 100
fi
