"""Text statistics for one post: short, bounded CPU work for the process pool.

Runs in a worker process, so it must be a plain module-level function of picklable arguments
that touches no app state. A post is at most 20,000 characters, which keeps one call well under
100 ms; anything bigger or slower belongs in a background job instead.
"""

import re
from collections import Counter
from typing import TypedDict

WORDS_PER_MINUTE = 230
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?", re.UNICODE)
# A sentence ends at a run of . ! ? followed by a space or the end. The lookbehind lets a match
# start only where a run starts, so a long run of punctuation is scanned once, not once per
# character (which made a crafted post quadratic).
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]+(?:\s|$)")


class TextStats(TypedDict):
    word_count: int
    unique_words: int
    sentence_count: int
    average_word_length: float
    reading_time_seconds: int
    top_words: list[tuple[str, int]]


def analyse_text(text: str, top: int = 10) -> TextStats:
    words = [word.lower() for word in _WORD.findall(text)]
    sentences = max(1, len(_SENTENCE_END.findall(text))) if words else 0
    counts = Counter(word for word in words if len(word) > 3)
    return {
        "word_count": len(words),
        "unique_words": len(set(words)),
        "sentence_count": sentences,
        "average_word_length": round(sum(map(len, words)) / len(words), 2) if words else 0.0,
        "reading_time_seconds": round(len(words) * 60 / WORDS_PER_MINUTE),
        "top_words": counts.most_common(top),
    }
