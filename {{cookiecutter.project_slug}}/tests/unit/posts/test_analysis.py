from {{ cookiecutter.project_slug }}.posts.analysis import analyse_text


def test_empty_text_has_no_words() -> None:
    stats = analyse_text("   ")
    assert stats["word_count"] == 0
    assert stats["sentence_count"] == 0
    assert stats["average_word_length"] == 0.0
    assert stats["top_words"] == []


def test_counts_words_sentences_and_reading_time() -> None:
    text = ("Numbers can stand for music. " * 46).strip()
    stats = analyse_text(text)
    assert stats["word_count"] == 230
    assert stats["sentence_count"] == 46
    assert stats["reading_time_seconds"] == 60
    assert stats["unique_words"] == 5
    assert stats["top_words"][0] == ("numbers", 46)


def test_short_words_and_digits_are_not_top_words() -> None:
    stats = analyse_text("a an the 1843 1843 code code")
    assert stats["top_words"] == [("code", 2)]
