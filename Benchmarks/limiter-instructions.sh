#!/usr/bin/env bash
# Instructions and simulated cache misses per in-memory check, per algorithm, counted by callgrind
# (`--cache-sim=yes`) on `LimiterBenchmark simulate`: a fixed number of checks over 10,000 keys
# (limit 1,000,000 per minute, so all are allowed) with a simulated clock. Unlike decisions per
# second, the counts are the same on every run, however noisy the host, so they show what a
# change to the check path saved. Simulated caches are valgrind's model, not this CPU's.
#
#   Benchmarks/limiter-instructions.sh [checks] [checks-per-ms]     (default 2,000,000 and 7,000:
#                                                                    the clock as at 7M checks/s)
set -euo pipefail
cd "$(dirname "$0")/.."
checks=${1:-2000000}
per_ms=${2:-7000}
for tool in valgrind python3; do
    command -v "$tool" >/dev/null || { echo "install $tool: apt-get install -y $tool" >&2; exit 1; }
done
swift build -c release --product LimiterBenchmark >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "per check of MemoryStore.check(policy:keyUTF8:cost:now:), $checks checks, clock at $per_ms checks/ms:"
for algorithm in fixed-window sliding-window token-bucket; do
    valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$work/$algorithm.out" \
        .build/release/LimiterBenchmark simulate "$algorithm" "$checks" "$per_ms" 2>/dev/null | sed 's/^/  /'
    # The inclusive costs of the calls into the store's check, from the benchmark's loop.
    # (`.` stands for a zero count.)
    callgrind_annotate --inclusive=yes --tree=calling "$work/$algorithm.out" >"$work/$algorithm.txt" 2>/dev/null
    { grep -m1 -E '^ *[0-9].*> .*MemoryStoreC5check6policy7keyUTF8.*x\)' "$work/$algorithm.txt" || true; } |
        python3 -c '
import re, sys
line = sys.stdin.read()
if not line:
    sys.exit(f"no call of MemoryStore.check(policy:keyUTF8:cost:now:) in the {sys.argv[1]} profile (renamed or inlined?)")
fields = re.sub(r"\([ \d.]+%\)", "", line).split(">")[0].split()
counts = [0 if n == "." else int(n.replace(",", "")) for n in fields]
calls = int(re.search(r"\(([\d,]+)x\)", line).group(1).replace(",", ""))
ir, d1_read, d1_write, ll_read, ll_write = counts[0], counts[4], counts[5], counts[7], counts[8]
print(f"  {sys.argv[1]:<15} {ir / calls:6.0f} instructions, L1 data misses {d1_read / calls:.2f} read"
      f" + {d1_write / calls:.2f} write, last-level {ll_read / calls:.3f} + {ll_write / calls:.3f}")
' "$algorithm"
done
