"""The posts report: statistics and near-duplicate detection over all of a user's posts.

Pure CPU work on plain data, so it is easy to test and deterministic: the same posts always give
the same report, which is what makes a re-run after a crash harmless. Comparing every pair of
posts is quadratic, which is why it runs in the worker (tasks.py) and not in a request.
"""

import heapq
import re
from collections import Counter
from collections.abc import Iterator
from itertools import combinations
from typing import Any, TypedDict

from {{ cookiecutter.project_slug }}.jobs.exceptions import PermanentJobError

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
SHINGLE_SIZE = 3
# The job's kind, and the name of its Celery task (tasks.py): the API publishes the task by
# name, without importing tasks.py.
REPORT_JOB = "posts.report"


class PostText(TypedDict):
    id: str
    title: str
    body: str


def _shingles(words: list[str]) -> frozenset[tuple[str, ...]]:
    if len(words) < SHINGLE_SIZE:
        return frozenset({tuple(words)}) if words else frozenset()
    return frozenset(
        tuple(words[i : i + SHINGLE_SIZE]) for i in range(len(words) - SHINGLE_SIZE + 1)
    )


def build_report(
    posts: list[PostText], max_posts: int, similarity_threshold: float, max_pairs: int
) -> dict[str, Any]:
    """The report; of the near-duplicate pairs it keeps the `max_pairs` most similar, so the
    result stays small however alike the posts are (all of them are counted)."""
    if len(posts) > max_posts:
        msg = f"there are more than {max_posts} posts, this report's limit; raise maxPosts"
        raise PermanentJobError(msg)
    posts = sorted(posts, key=lambda post: post["id"])
    words = {
        post["id"]: [w.lower() for w in _WORD.findall(f"{post['title']} {post['body']}")]
        for post in posts
    }
    counts = Counter(word for post_words in words.values() for word in post_words if len(word) > 3)
    shingles = {post_id: _shingles(post_words) for post_id, post_words in words.items()}

    pairs_found = 0

    def similar_pairs() -> Iterator[dict[str, Any]]:
        nonlocal pairs_found
        for first, second in combinations(shingles, 2):
            a, b = shingles[first], shingles[second]
            if not a or not b:
                continue
            similarity = len(a & b) / len(a | b)
            if similarity >= similarity_threshold:
                pairs_found += 1
                yield {"first": first, "second": second, "similarity": round(similarity, 4)}

    # nsmallest keeps only max_pairs pairs in memory while it goes through all of them.
    near_duplicates = heapq.nsmallest(
        max_pairs,
        similar_pairs(),
        key=lambda pair: (-pair["similarity"], pair["first"], pair["second"]),
    )

    total_words = sum(len(post_words) for post_words in words.values())
    return {
        "post_count": len(posts),
        "word_count": total_words,
        "average_words_per_post": round(total_words / len(posts), 2) if posts else 0.0,
        "top_words": [{"word": word, "count": count} for word, count in counts.most_common(10)],
        "near_duplicates": near_duplicates,
        "near_duplicates_found": pairs_found,
    }
