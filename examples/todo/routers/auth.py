"""``POST /auth/token``: OAuth2's password flow (a form with username and password)."""

from typing import Annotated

from fastrapi import APIRouter, Depends, HTTPException, status
from fastrapi.security import OAuth2PasswordRequestForm

from ..deps import StoreDep
from ..models import Token
from ..security import DUMMY_HASH, create_access_token, verify_password

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token)
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], store: StoreDep) -> Token:
    user = store.get_user(form.username)
    password_ok = verify_password(form.password, user.hashed_password if user else DUMMY_HASH)
    if user is None or not password_ok:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Token(access_token=create_access_token(user.username))
