from typing import Literal

from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel

CheckStatus = Literal["ok", "unavailable", "timeout"]


class Liveness(CustomBaseModel):
    status: Literal["ok"]


class Readiness(CustomBaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckStatus]
