from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.deps import AnyUser, Cursor, Db, Limit, RegionManager
from api.schemas.auth import UserCreate, UserRead, UserUpdate
from api.schemas.common import Page
from services import auth
from services.models import User
from services.pagination import paginate

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.post("", response_model=UserRead, status_code=201)
def create_user(db: Db, actor: RegionManager, body: UserCreate) -> User:
    return auth.create_user(db, actor, **body.model_dump())


@router.get("/me", response_model=UserRead)
def me(db: Db, actor: AnyUser) -> User:
    assert actor.user_id is not None
    return auth.get_user(db, actor, actor.user_id)


@router.get("", response_model=Page[UserRead])
def list_users(db: Db, actor: RegionManager, limit: Limit = 50, cursor: Cursor = None):
    return paginate(db, auth.list_users_stmt(actor), [User.id], limit=limit, cursor=cursor)


@router.get("/{user_id}", response_model=UserRead)
def get_user(db: Db, actor: AnyUser, user_id: uuid.UUID) -> User:
    return auth.get_user(db, actor, user_id)


@router.patch("/{user_id}", response_model=UserRead)
def update_user(db: Db, actor: AnyUser, user_id: uuid.UUID, body: UserUpdate) -> User:
    return auth.update_user(db, actor, user_id=user_id, **body.model_dump(exclude_unset=True))
