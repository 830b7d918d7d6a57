"""Draws the suite's throughput rows (JSON on standard input) as paired bars: Sluice and its peer."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

rows = json.load(sys.stdin)
names = [row["scenario"] for row in rows][::-1]
sluice = [row["sluice"]["rps"] / 1000 for row in rows][::-1]
peer = [row["nginx"]["rps"] / 1000 for row in rows][::-1]
positions = range(len(rows))

figure, axes = plt.subplots(figsize=(10, 0.6 * len(rows) + 1.5))
axes.barh([p + 0.2 for p in positions], sluice, height=0.4, label="Sluice", color="#2b6cb0")
axes.barh([p - 0.2 for p in positions], peer, height=0.4, label="nginx (peer)", color="#a0aec0")
axes.set_yticks(list(positions), names)
axes.set_xlabel("thousand requests per second (higher is better)")
axes.set_title("Sluice beside nginx, same worker count, loopback")
axes.legend(loc="lower right")
axes.grid(axis="x", alpha=0.3)
figure.tight_layout()
figure.savefig(sys.argv[1], dpi=110)
