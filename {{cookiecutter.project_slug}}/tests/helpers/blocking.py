"""What the runtime blocking-call guard (the `blocking_guard` fixture) lets through, and its report."""

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blockbuster import BlockBusterFunction

import {{ cookiecutter.project_slug }}

PACKAGE_DIR = str(Path({{ cookiecutter.project_slug }}.__file__).parent)
WRITES = ("io.TextIOWrapper.write", "io.BufferedWriter.write")
# Blocking calls inside library functions that the runtime guard lets through, and why. Each
# entry: how the library file's path ends, the function, and blockbuster's names for the calls
# it may make there (None: any).
TOLERATED_BLOCKING: list[tuple[str, str, tuple[str, ...] | None]] = [
    # Log handlers write each line synchronously. Ours writes to stderr (S14), which blockbuster
    # lets through by default: a write to a pipe waits only if the log reader stalls. pytest
    # adds a handler of its own that writes to os.devnull; this lets it through too. A handler
    # writing to a file or a socket would also pass unseen: put a QueueHandler in front of it.
    ("logging/__init__.py", "emit", WRITES),
    # asyncpg reads libpq's files (~/.pgpass, ~/.postgresql/) while it parses the parameters of
    # a new connection: a few stats of local files per connection, not per query.
    ("asyncpg/connect_utils.py", "_parse_connect_dsn_and_args", None),
    # redis-py reads its own version (package metadata on disk) for each new connection.
    ("redis/utils.py", "get_lib_version", None),
    # pydantic looks up email-validator's installed version (package metadata on disk) whenever
    # it builds a schema for EmailStr; within a request, only while /openapi.json is built.
    ("pydantic/networks.py", "import_email_validator", None),
    # FastAPI looks up an endpoint's source file (for error messages) once, then caches it.
    ("fastapi/routing.py", "_extract_endpoint_context", None),
    # sentry-sdk (only with SENTRY_DSN set): `init` looks at the working directory and host
    # once per process, in create_app, before the first request; an error event is built on
    # the thread that logged the error, resolving file paths and reading source lines, which
    # linecache keeps after the first read of each file. Sending happens on the SDK's thread.
    ("sentry_sdk/_init_implementation.py", "_init", None),
    ("sentry_sdk/utils.py", "event_from_exception", None),
    ("sentry_sdk/utils.py", "_get_installed_modules", None),
]


@dataclass
class BlockingCalls:
    """The blocking calls the runtime guard caught during one test, with how each was reached."""

    caught: list[tuple[str, list[traceback.FrameSummary]]] = field(default_factory=list)

    def watch(self, function: BlockBusterFunction) -> None:
        """Record each call to `function` that the guard catches, before blockbuster raises for
        it. Through the function's predicate, blockbuster's hook for letting a call through: the
        new one answers as the old one did."""
        allowed = function.can_block_predicate

        def predicate(*args: Any, **kwargs: Any) -> bool:
            if allowed(*args, **kwargs):
                return True
            # Without source lines: reading them would be file I/O inside the guard.
            stack = traceback.StackSummary.extract(traceback.walk_stack(None), lookup_lines=False)
            stack.reverse()
            if caught(function, stack):
                self.caught.append((f"Blocking call to {function.full_name}", stack))
            return False

        function.can_block_predicate = predicate

    def take(self) -> list[str]:
        """The calls caught so far, forgotten afterwards: for a test that blocks on purpose."""
        messages = [message for message, _ in self.caught]
        self.caught.clear()
        return messages

    def report(self) -> str:
        lines = ["Blocking call on the event loop (S1; RULES.md, 'When the runtime guard fires')"]
        for message, stack in self.caught:
            ours = [i for i, frame in enumerate(stack) if frame.filename.startswith(PACKAGE_DIR)]
            start = ours[-1] if ours else max(0, len(stack) - 10)
            lines.append(f"  {message}, from:")
            lines.extend(f"    {f.filename}:{f.lineno} in {f.name}" for f in stack[start:])
        return "\n".join(lines)


def caught(function: BlockBusterFunction, stack: traceback.StackSummary) -> bool:
    """Whether blockbuster refuses this call: made under this package's code, and not inside a
    function where the call may block (blockbuster's own list and TOLERATED_BLOCKING)."""
    allowed_here = any(
        frame.filename.replace("\\", "/").endswith(path) and frame.name in functions
        for frame in stack
        for path, functions in function.can_block_functions
    )
    return not allowed_here and any(frame.filename.startswith(PACKAGE_DIR) for frame in stack)
