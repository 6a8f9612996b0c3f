"""Passwords (argon2), tokens (JWT access + revocable refresh), login limits, and users."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from services import audit
from services.actors import ROLES, Actor
from services.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from services.models import LoginFailure, RefreshToken, Unit, User
from services.regions import contains, require_region
from services.settings import get_settings

_hasher = PasswordHasher(
    time_cost=get_settings().argon2_time_cost, memory_cost=get_settings().argon2_memory_kib
)
# Verified when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        region_code=user.region_code,
        unit_id=user.unit_id,
    )


# --- tokens ---------------------------------------------------------------------------------


def _issue(session: Session, user: User) -> dict[str, object]:
    settings = get_settings()
    now = datetime.now(UTC)
    access_ttl = timedelta(minutes=settings.access_token_minutes)
    access = jwt.encode(
        {"sub": str(user.id), "ver": user.token_version, "typ": "access", "exp": now + access_ttl},
        settings.secret_key,
        algorithm=ALGORITHM,
    )
    refresh_id = uuid.uuid4()
    expires = now + timedelta(days=settings.refresh_token_days)
    session.add(RefreshToken(id=refresh_id, user_id=user.id, expires_at=expires))
    refresh = jwt.encode(
        {"sub": str(user.id), "jti": str(refresh_id), "typ": "refresh", "exp": expires},
        settings.secret_key,
        algorithm=ALGORITHM,
    )
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": int(access_ttl.total_seconds()),
        "refresh_token": refresh,
    }


def _decode(token: str, typ: str) -> dict[str, object]:
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=[ALGORITHM])
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid or expired token") from exc
    if claims.get("typ") != typ:
        raise Unauthorized("wrong kind of token")
    return claims


def user_from_access_token(session: Session, token: str) -> User:
    claims = _decode(token, "access")
    try:
        user = session.get(User, uuid.UUID(str(claims["sub"])))
    except (KeyError, ValueError) as exc:
        raise Unauthorized("invalid token") from exc
    if user is None or not user.active or user.token_version != claims.get("ver"):
        raise Unauthorized("invalid or revoked token")
    return user


# --- callers of the hot reads ---------------------------------------------------------------
#
# The dashboard's reads check the caller inside their one statement (active and token version,
# see services/metrics/read.py), so they need from the token only who the caller is. Both
# lookups below are per process and never stale in what they decide:
# - a token string maps to its verified claims (signature checked once; expiry checked on
#   every use);
# - (user id, token version) maps to the actor. Role, region and unit of a user never change
#   (PATCH /users changes only `active` and the password, and both bump the version), so the
#   actor of a version is fixed; whether it is still valid is the statement's check.


@dataclass(frozen=True)
class Caller:
    """A caller known from a verified access token, not yet checked against the users table."""

    actor: Actor
    token_version: int


_MAX_CACHED = 10_000
_claims: dict[str, tuple[uuid.UUID, int, float]] = {}  # token -> (user id, version, exp)
_actors: dict[tuple[uuid.UUID, int], Actor] = {}


def _remember(cache: dict, key: object, value: object) -> None:
    if len(cache) >= _MAX_CACHED:
        cache.clear()  # crude but bounded; a miss costs one user lookup
    cache[key] = value


def cached_caller(token: str) -> Caller | None:
    """The caller of a token seen before by this process, or None (then use `load_caller`).

    Raises Unauthorized for a known token that has expired since.
    """
    known = _claims.get(token)
    if known is None:
        return None
    user_id, version, expires = known
    if time.time() > expires:
        _claims.pop(token, None)
        raise Unauthorized("invalid or expired token")
    actor = _actors.get((user_id, version))
    return Caller(actor, version) if actor is not None else None


def load_caller(session: Session, token: str) -> Caller:
    """Check a token against the users table (as every other endpoint does) and remember it."""
    claims = _decode(token, "access")
    user = user_from_access_token(session, token)
    version = user.token_version
    _remember(_claims, token, (user.id, version, float(claims["exp"])))  # type: ignore[arg-type]
    actor = actor_of(user)
    _remember(_actors, (user.id, version), actor)
    return Caller(actor, version)


_users = User.__table__
_STILL_VALID = select(_users.c.id).where(
    _users.c.id == bindparam("user_id"),
    _users.c.active,
    _users.c.token_version == bindparam("version"),
)


# The same check as a statement of its own, for the callers of several requests at once
# (`:uids` and `:vers`, arrays in step): a row (id, token_version) for each caller that holds.
# The hot write path sends it with its other reads in one round trip.
CALLERS_OK_SQL = (
    "SELECT u.id, u.token_version FROM users u"
    " JOIN unnest(CAST(:uids AS uuid[]), CAST(:vers AS int[])) c(id, ver)"
    " ON u.id = c.id AND u.token_version = c.ver WHERE u.active"
)


def check_caller(session: Session, caller: Caller) -> None:
    """Raise Unauthorized unless the caller's user is still active at the token's version.

    One Core statement (no ORM load): it runs at the start of every authenticated request.
    """
    found = session.execute(
        _STILL_VALID, {"user_id": caller.actor.user_id, "version": caller.token_version}
    ).first()
    if found is None:
        raise Unauthorized("invalid or revoked token")


LOCK_LOGIN = 7403  # pg_advisory_xact_lock(int, int) namespace: one lock per username
USERNAME_MAX = User.__table__.c.username.type.length  # 100


def _check_login_input(username: str, password: str) -> None:
    # What no user can have, refused naming the field: the database refused it (a name over
    # 100 characters, a NUL) with an error that named none, and the attempt went uncounted.
    if len(username) > USERNAME_MAX:
        raise Invalid(["body", "username"], f"at most {USERNAME_MAX} characters")
    for field, value in (("username", username), ("password", password)):
        if "\x00" in value:
            raise Invalid(["body", field], "contains a NUL character")


def login(session: Session, *, username: str, password: str, address: str | None) -> dict:
    """Check a password; failed attempts are limited per username and per address.

    Attempts for one username are taken one at a time (an advisory lock until the commit that
    records a failure): checked side by side, 25 guesses all saw fewer than the 5 allowed
    failures and 8 were tried (found in review, session 14).
    """
    _check_login_input(username, password)
    session.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:name))"),
        {"ns": LOCK_LOGIN, "name": username},
    )
    settings = get_settings()
    since = datetime.now(UTC) - timedelta(minutes=settings.login_window_minutes)
    failures = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.at >= since, LoginFailure.username == username)
    )
    by_address = (
        session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.at >= since, LoginFailure.address == address)
        )
        if address
        else 0
    )
    # An address may mistype a few names, so it gets a larger allowance than one username.
    if failures >= settings.login_max_failures or by_address >= settings.login_max_failures * 4:
        raise RateLimited("too many failed logins; try again later")
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if not ok or user is None or not user.active:
        session.add(LoginFailure(username=username, address=address))
        raise Unauthorized("wrong username or password")
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return _issue(session, user)


def refresh(session: Session, *, refresh_token: str) -> dict:
    """Rotate a refresh token: the old one is revoked, a new pair is issued."""
    claims = _decode(refresh_token, "refresh")
    try:
        token_id = uuid.UUID(str(claims["jti"]))
    except (KeyError, ValueError) as exc:
        raise Unauthorized("invalid token") from exc
    # Revoke atomically so a token replayed twice at once yields only one new pair.
    revoked = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(RefreshToken.user_id)
    ).first()
    if revoked is None:
        raise Unauthorized("refresh token revoked or unknown")
    user = session.get(User, revoked.user_id)
    if user is None or not user.active:
        raise Unauthorized("user inactive")
    return _issue(session, user)


def revoke_sessions(session: Session, user: User) -> None:
    """End every session of a user: access tokens by version, refresh tokens by revocation."""
    user.token_version += 1
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


# --- users ----------------------------------------------------------------------------------

# Who may create, and so change, whom: admins anyone; county and township users the roles
# below them (api.md). Until session 14 each could also create and change users of its own
# role: a township official could reset a colleague's password and then act, and be audited,
# as that colleague.
_CREATABLE = {
    "admin": set(ROLES),
    "county": {"township", "inspector", "unit"},
    "township": {"inspector", "unit"},
}


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise Invalid(["body", "password"], "must be at least 8 characters")


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    region_code: str | None,
    unit_id: uuid.UUID | None,
) -> User:
    if role not in ROLES:
        raise Invalid(["body", "role"], f"must be one of {', '.join(ROLES)}")
    if role not in _CREATABLE.get(actor.role, set()):
        raise Forbidden(f"a {actor.role} user may not create {role} users")
    _check_password(password)
    if role == "admin":
        if region_code or unit_id:
            raise Invalid(["body", "region_code"], "an admin is bound to no region")
    else:
        if not region_code:
            raise Invalid(["body", "region_code"], "is required for this role")
        require_region(session, region_code, scope=actor.scope, field="region_code")
    if role == "unit":
        if unit_id is None:
            raise Invalid(["body", "unit_id"], "is required for a unit user")
        unit = session.get(Unit, unit_id)
        if unit is None or not contains(actor.scope, unit.region_code):
            raise Invalid(["body", "unit_id"], "unknown unit")
        region_code = unit.region_code
    elif unit_id is not None:
        raise Invalid(["body", "unit_id"], "only unit users belong to a unit")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("username already taken")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        region_code=region_code,
        unit_id=unit_id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        entity="user",
        entity_id=user.id,
        action="create",
        changes={"username": username, "role": role, "region_code": region_code},
    )
    return user


def get_user(session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    visible = user is not None and (
        actor.role == "admin"
        or user.id == actor.user_id
        or (
            actor.role in ("county", "township")
            and user.region_code is not None
            and contains(actor.scope, user.region_code)
        )
    )
    if not visible:
        raise NotFound("user", user_id)
    assert user is not None
    return user


def update_user(
    session: Session,
    actor: Actor,
    *,
    user_id: uuid.UUID,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    user = get_user(session, actor, user_id)
    is_self = user.id == actor.user_id
    if not is_self and actor.role not in ("admin", "county", "township"):
        raise Forbidden("may not change other users")
    if not is_self and user.role not in _CREATABLE.get(actor.role, set()):
        raise Forbidden(f"a {actor.role} user may not change {user.role} users")
    changes: dict[str, object] = {}
    if active is not None and active != user.active:
        if is_self and not active:
            raise Invalid(["body", "active"], "you may not deactivate yourself")
        user.active = active
        changes["active"] = active
        if not active:
            revoke_sessions(session, user)
    if password is not None:
        _check_password(password)
        user.password_hash = hash_password(password)
        revoke_sessions(session, user)
        changes["password"] = "changed"
    if changes:
        audit.record(
            session, actor, entity="user", entity_id=user.id, action="update", changes=changes
        )
    return user


def list_users_stmt(actor: Actor):
    stmt = select(User)
    if actor.role != "admin":
        from services.regions import in_subtree

        stmt = stmt.where(or_(in_subtree(User.region_code, actor.scope), User.id == actor.user_id))
    return stmt


def create_first_admin(session: Session, *, username: str, password: str) -> User:
    """The CLI's bootstrap: an admin created by nobody."""
    from services.actors import SYSTEM

    return create_user(
        session,
        SYSTEM,
        username=username,
        password=password,
        role="admin",
        region_code=None,
        unit_id=None,
    )
