"""`make prune`: delete the sessions and emailed links that have expired.

Nothing reads them once expired, but nothing else deletes those of users who never come back,
so the tables would only grow. Run it daily (cron, or deploy/kubernetes/prune-cronjob.yaml);
it is safe to run at any time, and more than once.

    make prune

Exit status: 0 done, 1 the database could not be reached.
"""

import asyncio
import sys

from {{ cookiecutter.project_slug }}.auth import links
from {{ cookiecutter.project_slug }}.core.database import UNREACHABLE, create_pool
from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.sessions import service as sessions_service


async def prune(settings: Settings) -> tuple[int, int]:
    """Delete what has expired: (sessions, links)."""
    pool = await create_pool(settings, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await sessions_service.delete_expired(conn), await links.delete_expired(conn)
    finally:
        await pool.close()


def main() -> int:
    try:
        # A command-line entry point: its own event loop, outside the app's.
        sessions, expired_links = asyncio.run(prune(Settings()))  # noqa: TID251
    except UNREACHABLE as exc:
        sys.stderr.write(f"error: the database is unreachable ({exc!r}); nothing was deleted\n")
        return 1
    sys.stdout.write(f"Deleted {sessions} expired sessions and {expired_links} expired links.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
