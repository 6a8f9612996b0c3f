"""Venue kinds and hazard categories: readable by all, extended by admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AdminUser, AnyUser, Db
from api.schemas.common import Page
from api.schemas.regions import LabelledCode, LabelledCodeCreate
from services import reference

router = APIRouter(prefix="/api/v1", tags=["reference data"])
Code = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,49}$")]


@router.get("/unit-kinds", response_model=Page[LabelledCode])
def unit_kinds(db: Db, actor: AnyUser) -> dict:
    return {"items": reference.list_kinds(db), "next_cursor": None}


@router.put("/unit-kinds/{code}", response_model=LabelledCode)
def put_unit_kind(db: Db, actor: AdminUser, code: Code, body: LabelledCodeCreate):
    return reference.put_kind(db, code=code, label=body.label)


@router.get("/hazard-categories", response_model=Page[LabelledCode])
def hazard_categories(db: Db, actor: AnyUser) -> dict:
    return {"items": reference.list_categories(db), "next_cursor": None}


@router.put("/hazard-categories/{code}", response_model=LabelledCode)
def put_hazard_category(db: Db, actor: AdminUser, code: Code, body: LabelledCodeCreate):
    return reference.put_category(db, code=code, label=body.label)
