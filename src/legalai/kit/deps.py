"""FastAPI dependencies: the runtime, the request-owned transaction, the acting principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.accounts.service import local_principal
from legalai.kit.db import transaction
from legalai.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, before the response leaves
    (so a client never reads back an id that is not yet committed), rolled back on any error."""
    with transaction(get_runtime(request).sessions) as session:
        yield session


DbSession = Annotated[Session, Depends(_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_principal(session: DbSession) -> Principal:
    # Accounts arrive with the access-control issue; until then every caller acts for the local org.
    return local_principal(session)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def request_id(request: Request) -> str | None:
    value: str | None = getattr(request.state, "request_id", None)
    return value
