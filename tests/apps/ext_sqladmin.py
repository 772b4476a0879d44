"""sqladmin on an unchanged FastAPI app: ``Admin`` mounts a Starlette app at /admin (Jinja2 pages, forms,
StaticFiles) whose ``url_for`` resolves through ``scope["router"]``, the outer FastAPI router."""

from fastapi import FastAPI
from sqladmin import Admin, ModelView
from sqlalchemy import Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

# One in-memory database per server process (one worker), shared by sqladmin's threads.
engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


Base.metadata.create_all(engine)
app = FastAPI()
admin = Admin(app, engine)


class UserAdmin(ModelView, model=User):
    column_list = [User.id, User.name]


admin.add_view(UserAdmin)
