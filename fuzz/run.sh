#!/usr/bin/env bash
# Fuzzes the HaToKuSe parser with AFL++ and SharpFuzz for a while (default 10 minutes).
#   fuzz/run.sh [minutes]
# Needs root or sudo for apt-get (afl++) the first time. Findings land in fuzz/findings/ (git-ignored);
# add any crashing input to fuzz/corpus/ once fixed, so the replay test keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}

command -v afl-fuzz >/dev/null || { apt-get update -qq && apt-get install -y -qq afl++ >/dev/null; }
tools=fuzz/.tools
[ -x "$tools/sharpfuzz" ] || dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine >/dev/null

out=fuzz/.build
dotnet publish fuzz/Tolerex.Fuzz -c Release -o "$out" -v q -nologo >/dev/null
# Instrument only the code under test, so AFL's coverage map is about the parser.
"$tools/sharpfuzz" "$out/Tolerex.Protocol.dll"

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
timeout --preserve-status "$((minutes * 60))" \
  afl-fuzz -i fuzz/corpus -o fuzz/findings -t 5000 -m none -- dotnet "$out/tolerex-fuzz.dll" || true
echo
grep -E "execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg" fuzz/findings/default/fuzzer_stats || true
ls fuzz/findings/default/crashes 2>/dev/null | grep -v README || echo "no crashes"
