import pytest

from {{ cookiecutter.project_slug }}.jobs.exceptions import PermanentJobError
from {{ cookiecutter.project_slug }}.posts.report import PostText, build_report


def post(post_id: str, body: str) -> PostText:
    return PostText(id=post_id, title="", body=body)


def test_near_duplicates_are_found_and_distinct_posts_are_not() -> None:
    text = "the analytical engine weaves algebraic patterns just as the loom weaves flowers"
    posts = [post("b", text), post("a", text + " again"), post("c", "nothing alike at all here")]
    report = build_report(posts, max_posts=10, similarity_threshold=0.7, max_pairs=10)
    assert report["post_count"] == 3
    assert report["near_duplicates_found"] == 1
    [pair] = report["near_duplicates"]
    assert (pair["first"], pair["second"]) == ("a", "b")  # in id order, whatever the input order
    assert 0.7 <= pair["similarity"] < 1.0
    assert report["top_words"][0] == {"word": "weaves", "count": 4}


def test_only_the_most_similar_pairs_are_kept_but_all_are_counted() -> None:
    posts = [post(f"{n:02}", "same words in every post here") for n in range(10)]
    report = build_report(posts, max_posts=10, similarity_threshold=0.5, max_pairs=3)
    assert report["near_duplicates_found"] == 45
    assert [(p["first"], p["second"]) for p in report["near_duplicates"]] == [
        ("00", "01"),
        ("00", "02"),
        ("00", "03"),
    ]


def test_more_posts_than_allowed_is_a_permanent_failure() -> None:
    posts = [post(str(n), "text") for n in range(3)]
    with pytest.raises(PermanentJobError, match="more than 2 posts"):
        build_report(posts, max_posts=2, similarity_threshold=0.8, max_pairs=10)


def test_no_posts_is_an_empty_report() -> None:
    report = build_report([], max_posts=10, similarity_threshold=0.8, max_pairs=10)
    assert report == {
        "post_count": 0,
        "word_count": 0,
        "average_words_per_post": 0.0,
        "top_words": [],
        "near_duplicates": [],
        "near_duplicates_found": 0,
    }
