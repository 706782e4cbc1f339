from uuid import UUID

from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel, UtcDateTime


class SessionOut(CustomBaseModel):
    id: UUID
    created_at: UtcDateTime
    # When its refresh token was last used: at login, or at the latest refresh.
    last_used_at: UtcDateTime
    # When it ends unless its refresh token is used before then.
    expires_at: UtcDateTime
    # As the client described itself, and the address it called from, at the last use.
    user_agent: str
    address: str
    # Whether this is the session of the access token that asked.
    current: bool
