"""Results as markdown (latest.md), raw numbers (latest.json) and a chart (latest.png)."""

import json
import re
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.80  # of the FastAPI baseline's throughput, on authenticated database endpoints
TARGET_LOOP = 2.0  # /health/live p99 under heavy work, as a multiple of its idle p99
DB_SCENARIOS = ("list posts", "read post", "create post", "submit job")
README_START = "<!-- bench:results:start -->"
README_END = "<!-- bench:results:end -->"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _row(rows: list[dict[str, Any]], scenario: str, app: str) -> dict[str, Any]:
    return next(r for r in rows if r["scenario"] == scenario and r["app"] == app)


def _rps(rows: list[dict[str, Any]], scenario: str, app: str) -> float:
    return float(_row(rows, scenario, app)["rps"])


def _versions(env: dict[str, Any]) -> str:
    return "Versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + "."


def markdown(summary: dict[str, Any]) -> str:
    rows = summary["throughput"]
    env = summary["environment"]
    resp = summary["responsiveness"]
    lines = [
        f"Measured {env['date']} ({env['mode']} run{', ' + env['label'] if env['label'] else ''}): "
        f"{env['cpus']} CPUs ({env['cpu_model']}), load average {env['load_before'][0]} before "
        f"and {env['load_after'][0]} after; every number is the median of "
        f"{env['plan']['reps']} runs of {env['plan']['duration_s']} s after "
        f"{env['plan']['warmup_s']} s of warm-up, {env['plan']['connections']} connections, "
        "apps measured in turn.",
        "",
        "| scenario | app | req/s | p50 ms | p99 ms | errors | vs FastAPI | vs Starlette "
        "| server CPU µs/req | CPU vs FastAPI |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        fastapi = _rps(rows, row["scenario"], "fastapi")
        starlette = _rps(rows, row["scenario"], "starlette")
        mark = ""
        if row["app"] == "service" and row["scenario"] in DB_SCENARIOS:
            mark = " ✓" if row["rps"] >= TARGET_RATIO * fastapi else " ✗"
        # Older result files have no CPU numbers.
        cpu = row.get("cpu_us", 0.0)
        fastapi_cpu = _row(rows, row["scenario"], "fastapi").get("cpu_us", 0.0)
        lines.append(
            f"| {row['scenario']} | {row['app']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['errors']} | {row['rps'] / fastapi:.2f}{mark} | "
            f"{row['rps'] / starlette:.2f} | {cpu:.0f} | "
            f"{cpu / fastapi_cpu if fastapi_cpu else 0:.2f}x |"
        )
    if env.get("service_env"):
        lines += ["", f"Service settings changed for this run: {env['service_env']}."]
    if not resp:
        return "\n".join([*lines, "", _versions(env), ""])
    idle = resp["idle"]
    lines += [
        "",
        f"✓/✗: whether the service reaches {TARGET_RATIO:.0%} of the FastAPI baseline. Server "
        "CPU: the CPU time the app's process used during the measured runs, per request (wrk "
        "and everything else on the machine left out).",
        "",
        f"Event-loop responsiveness: the service's `/health/live` at a fixed "
        f"{env['plan']['probe_rate']} req/s ({env['plan']['probe_connections']} connections, "
        f"{env['plan']['probe_s']} s per run, median of {env['plan']['responsiveness_reps']} "
        "runs), alone and while heavy work runs:",
        "",
        "| heavy work running | probe req/s | p50 ms | p99 ms | p99 vs idle | errors | heavy load achieved |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, cond in resp.items():
        ratio = cond["p99_ms"] / idle["p99_ms"]
        mark = ""
        if name == "all three":
            mark = " ✓" if ratio <= TARGET_LOOP else " ✗"
        achieved = []
        for source, heavy in cond["heavy"].items():
            if source == "process pool":
                achieved.append(f"{heavy['rps']:.0f} analyses/s")
            elif source == "worker":
                achieved.append(
                    f"{heavy['rps']:.1f} jobs/s queued, {cond['jobs_finished_per_run']:.0f} run"
                )
            else:
                achieved.append(
                    f"{heavy['rps']:.1f} sign-ups/s, {cond['upstream_max_in_flight']} emails waiting"
                )
        lines.append(
            f"| {'nothing (idle)' if name == 'idle' else name} | {cond['rps']:.0f} | "
            f"{cond['p50_ms']:.2f} | {cond['p99_ms']:.2f} | {ratio:.2f}x{mark} | "
            f"{cond['errors']} | {'; '.join(achieved) or '-'} |"
        )
    lines += [
        "",
        f"✓/✗: whether p99 under all three stays within {TARGET_LOOP:.0f}x of idle. p99 of "
        "each run: " + "; ".join(f"{name} {cond['p99_runs']}" for name, cond in resp.items()) + ".",
        "",
        _versions(env),
        "",
    ]
    return "\n".join(lines)


def chart(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["throughput"]
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    apps = list(dict.fromkeys(r["app"] for r in rows))
    resp = summary["responsiveness"]
    right = None
    if resp:
        fig, (left, right) = plt.subplots(
            1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 2]}
        )
    else:
        fig, left = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(apps)
    for i, app in enumerate(apps):
        values = [_rps(rows, s, app) for s in scenarios]
        bars = left.bar([x + i * width for x in range(len(scenarios))], values, width, label=app)
        left.bar_label(bars, fmt="%.0f", fontsize=7)
    left.set_xticks([x + width * (len(apps) - 1) / 2 for x in range(len(scenarios))], scenarios)
    left.set_ylabel("requests per second (median)")
    left.set_title("Throughput, one uvicorn process each")
    left.legend()
    if right is not None:
        _loop_chart(right, resp)
    env = summary["environment"]
    fig.suptitle(f"{env['date']}, {env['cpus']} CPUs, {env['mode']} run", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _loop_chart(right: Any, resp: dict[str, Any]) -> None:
    bars = right.bar(
        [name.replace(" ", "\n") for name in resp],
        [cond["p99_ms"] for cond in resp.values()],
        color=["C2"] + ["C1"] * (len(resp) - 2) + ["C3"],
    )
    right.bar_label(bars, fmt="%.1f", fontsize=7)
    right.tick_params(axis="x", labelsize=7)
    right.set_ylabel("p99 latency of /health/live (ms)")
    right.set_title("Event loop under load")


def write(summary: dict[str, Any], out: Path) -> None:
    (out / "latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "latest.md").write_text(markdown(summary))
    chart(summary, out / "latest.png")


def update_readme(readme: Path, table: Path) -> None:
    """Put the latest results between the README's markers (left alone if it has none)."""
    text = readme.read_text()
    if README_START not in text:
        return
    block = f"{README_START}\n{table.read_text().rstrip()}\n{README_END}"
    pattern = re.escape(README_START) + r".*?" + re.escape(README_END)
    readme.write_text(re.sub(pattern, lambda _: block, text, flags=re.DOTALL))


def profile_summary(raw: Path, top: int = 45) -> str:
    """The functions that hold the most samples, from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    lines = [f"{total} samples", "", "inclusive %  self %  function"]
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(
            f"{100 * count / total:10.1f}  {100 * own.get(frame, 0) / total:6.1f}  {frame[:150]}"
        )
    lines += ["", "by self time:"]
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * count / total:6.1f}  {frame[:150]}")
    return "\n".join(lines) + "\n"
