from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from legalai.accounts.models import Role
from legalai.kit.schemas import UtcDateTime


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    organization_id: str | None = Field(default=None, max_length=32)


class MeOut(BaseModel):
    user_id: str | None
    email: str
    organization_id: str
    role: Role | None
    scopes: list[str]
    via: str
    csrf_token: str | None = None


class UserCreate(BaseModel):
    email: str = Field(max_length=320)
    password: str | None = Field(default=None, max_length=1024)
    display_name: str = Field(default="", max_length=200)
    role: Role = Role.attorney


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: UtcDateTime


class RoleChange(BaseModel):
    role: Role


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(default_factory=lambda: ["read"], max_length=3)
    expires_at: datetime | None = None


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    user_id: str
    scopes: list[str]
    created_at: UtcDateTime
    expires_at: UtcDateTime | None
    last_used_at: UtcDateTime | None
    revoked_at: UtcDateTime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once. Store it now: only a hash is kept.")


class MemberIn(BaseModel):
    user_id: str = Field(max_length=32)


class ScreenIn(BaseModel):
    user_id: str = Field(max_length=32)
    reason: str = Field(default="", max_length=500)


class MatterAccessOut(BaseModel):
    matter_id: str
    restricted: bool
    members: list[str]
    screened: list[str]
