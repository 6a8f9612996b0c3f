"""Login (OAuth2 password form) and refresh-token rotation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import Db
from api.schemas.auth import RefreshRequest, TokenPair
from services import auth
from services.errors import Unauthorized

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenPair,
    responses={
        401: {"description": "wrong credentials"},
        429: {"description": "too many failures"},
    },
)
def token(db: Db, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict:
    address = request.client.host if request.client else None
    try:
        return auth.login(db, username=form.username, password=form.password, address=address)
    except Unauthorized:
        db.commit()  # keep the failure on record: it is what the login limit counts
        raise


@router.post("/refresh", response_model=TokenPair, responses={401: {"description": "revoked"}})
def refresh(db: Db, body: RefreshRequest) -> dict:
    return auth.refresh(db, refresh_token=body.refresh_token)
