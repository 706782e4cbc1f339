"""Reading the service's answers in the common error shape."""

import httpx


def error_code(response: httpx.Response) -> tuple[int, str]:
    """The status and the error code of an error answer: `(404, "not_found")`."""
    return response.status_code, response.json()["error"]["code"]
