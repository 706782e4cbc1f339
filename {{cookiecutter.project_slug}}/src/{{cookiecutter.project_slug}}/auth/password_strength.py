"""How guessable a password is, estimated by zxcvbn for a sign-up form's strength meter.

zxcvbn is pure Python and its cost grows with the password's length, so it runs in the process
pool, as a module-level function of plain values.
"""

from typing import TypedDict

from zxcvbn import zxcvbn

# zxcvbn refuses longer input; a password's first 72 characters are what it can judge.
MAX_CHECKED_LENGTH = 72


class Strength(TypedDict):
    score: int
    guesses_log10: float
    warning: str | None
    suggestions: list[str]


def estimate_strength(password: str, user_inputs: list[str]) -> Strength:
    result = zxcvbn(password[:MAX_CHECKED_LENGTH], user_inputs=user_inputs)
    feedback = result["feedback"]
    return {
        "score": int(result["score"]),
        "guesses_log10": round(float(result["guesses_log10"]), 2),
        "warning": feedback["warning"] or None,
        "suggestions": [str(suggestion) for suggestion in feedback["suggestions"]],
    }
