"""Driving wrk: one generated Lua script per load, results parsed from one JSON line.

Every script counts responses outside 2xx itself (wrk only counts >= 400) and reports the first
one it saw, so a run with any non-2xx answer can be rejected with a reason.

Fixed-rate loads (`rate=`) use a pacing `delay()`: each wrk thread hands out send slots at
exactly `rate / threads` per second from a monotonic clock (LuaJIT FFI), and a connection that
becomes free waits for the next slot. A late slot is sent at once, so the schedule catches up
after a stall instead of silently lowering the rate (wrk2's idea, without its latency
correction: wrk times a request from when it is actually sent). With many connections and few
requests per connection, a stall of the server still shows up in the requests that other,
idle connections send during it.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

RESULT_MARKER = "BENCH_RESULT "
BAD_MARKER = "BENCH_FIRST_BAD "

_CLOCK = """
local ffi = require("ffi")
pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]])
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
"""

_COMMON = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

non2xx = 0
first_bad = ""
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.gsub(string.sub(body or "", 1, 300), "%s", " ")
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    if first == "" then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,'
    .. '"write":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"mean_us":%.1f}\\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
  io.write("BENCH_FIRST_BAD " .. first .. "\\n")
end
"""

_PACING = """
local interval_ms = {interval_ms}
local next_slot = nil
function delay()
  local now = now_ms()
  if next_slot == nil then next_slot = now end
  local slot = next_slot
  next_slot = next_slot + interval_ms
  if slot <= now then return 0 end
  return math.floor(slot - now + 0.5)
end
"""

_UNIQUE_BODY = """
local counter = 0
function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format({body_format}, thread_id, counter))
end
"""

_ROTATING_TOKENS = """
local tokens = {tokens}
local counter = 0
function request()
  counter = counter + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
  return wrk.format()
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


@dataclass(frozen=True)
class Load:
    """One HTTP request shape, sent by wrk at full speed or at a fixed rate."""

    method: str
    path: str
    token: str | None = None
    body: str | None = None
    # Replaces `{n}` in the body with a value unique per request (e.g. sign-up emails).
    unique_body: bool = False
    # Several callers in turn, one per request (instead of `token`): load spread over users.
    tokens: tuple[str, ...] = ()

    def script(self, rate: float | None = None, threads: int = 1) -> str:
        lines = [
            _CLOCK,
            f"wrk.method = {_lua_string(self.method)}",
            f"wrk.path = {_lua_string(self.path)}",
        ]
        if self.token:
            lines.append(f'wrk.headers["Authorization"] = {_lua_string("Bearer " + self.token)}')
        if self.body is not None:
            lines.append('wrk.headers["Content-Type"] = "application/json"')
            lines.append(f"wrk.body = {_lua_string(self.body)}")
        lines.append(_COMMON)
        if rate is not None:
            lines.append(_PACING.replace("{interval_ms}", repr(threads * 1000.0 / rate)))
        if self.unique_body and self.body is not None:
            body_format = self.body.replace("%", "%%").replace("{n}", "%d-%d")
            lines.append(_UNIQUE_BODY.replace("{body_format}", _lua_string(body_format)))
        elif self.tokens:
            table = "{" + ", ".join(_lua_string(token) for token in self.tokens) + "}"
            lines.append(_ROTATING_TOKENS.replace("{tokens}", table))
        return "\n".join(lines)


@dataclass
class Result:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    first_bad: str
    # CPU time the server process used during the run (all its threads), when measured.
    server_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s * 1e6 / self.requests if self.requests else 0.0

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def start(
    load: Load,
    base_url: str,
    script_path: Path,
    *,
    connections: int,
    seconds: float,
    rate: float | None = None,
    threads: int = 1,
    timeout_s: int = 10,
) -> subprocess.Popen[str]:
    """Start wrk in the background; `finish` waits for it and parses its result."""
    script_path.write_text(load.script(rate, threads))
    argv = [
        wrk_binary() or "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={timeout_s}s",
        f"--script={script_path}",
        base_url + load.path,
    ]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def finish(process: subprocess.Popen[str]) -> Result:
    output, _ = process.communicate()
    data = None
    first_bad = ""
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            data = json.loads(line[len(RESULT_MARKER) :])
        elif line.startswith(BAD_MARKER):
            first_bad = line[len(BAD_MARKER) :].strip()
    if data is None:
        msg = f"wrk exited with {process.returncode} and no result:\n{output[-2000:]}"
        raise RuntimeError(msg)
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non2xx=data["non2xx"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        first_bad=first_bad,
    )


def run(load: Load, base_url: str, script_path: Path, **kwargs: object) -> Result:
    return finish(start(load, base_url, script_path, **kwargs))  # type: ignore[arg-type]
