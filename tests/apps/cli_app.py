"""An app for `fastrapi run`: found by name (`api`), no `app` attribute."""

from fastrapi import FastAPI

api = FastAPI()


@api.get("/")
def root():
    return {"served_by": "fastrapi run"}
