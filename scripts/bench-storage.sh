#!/usr/bin/env bash
# Storage figures in one run on the same file system: the disk's raw synchronous-write rate
# (dd oflag=dsync, 4 KiB blocks, into a growing and into an existing file), the member log's appends/s with fsync, and recovery time and index
# memory for 1,000,000 ids on a member and on the leader.
#   scripts/bench-storage.sh [records=200000] [ids=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-200000}; ids=${2:-1000000}
dotnet build Tolerex.sln -c Release -v q -nologo >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "== disk: dd if=/dev/zero bs=4k count=2000 oflag=dsync ($tmp)"
dd if=/dev/zero of="$tmp/dd" bs=4k count=2000 oflag=dsync 2>&1 | tail -1 \
  | awk '{ for (i = 1; i <= NF; i++) if ($i == "s,") secs = $(i-1); printf "%s -> %.0f synchronous 4 KiB writes/s\n", $0, 2000 / secs }'
echo "== disk: the same into the now existing file (conv=notrunc): what preallocated log space gets"
dd if=/dev/zero of="$tmp/dd" bs=4k count=2000 oflag=dsync conv=notrunc 2>&1 | tail -1 \
  | awk '{ for (i = 1; i <= NF; i++) if ($i == "s,") secs = $(i-1); printf "%s -> %.0f synchronous 4 KiB writes/s\n", $0, 2000 / secs }'
rm -f "$tmp/dd"
echo "== member log (bench-storage)"
TMPDIR=$tmp dotnet Tolerex.Member/bin/Release/net10.0/Tolerex.Member.dll bench-storage --records "$records" --recovery-ids "$ids"
TMPDIR=$tmp dotnet Tolerex.Member/bin/Release/net10.0/Tolerex.Member.dll bench-storage --records 20000 --recovery-ids 1000 --io unbuffered | head -1
echo "== leader index (bench-index)"
TMPDIR=$tmp dotnet Tolerex.Leader/bin/Release/net10.0/Tolerex.Leader.dll bench-index --ids "$ids"
