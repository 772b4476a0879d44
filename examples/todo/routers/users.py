"""Registration and the current user's account."""

from fastrapi import APIRouter, HTTPException, status

from ..deps import CurrentUser, StoreDep
from ..models import User, UserCreate, UserInDB
from ..security import hash_password

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", response_model=User, status_code=status.HTTP_201_CREATED)
def register(new_user: UserCreate, store: StoreDep) -> UserInDB:
    user = UserInDB(
        username=new_user.username, full_name=new_user.full_name, hashed_password=hash_password(new_user.password)
    )
    if not store.add_user(user):
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="Username already registered")
    return user  # response_model=User leaves hashed_password out


@router.get("/me", response_model=User)
async def read_me(user: CurrentUser) -> UserInDB:
    return user
