"""Every security scheme, with scopes, optional auth and shared dependencies, for both frameworks.

Also served for the differential security tests (`tests/test_security.py`)."""

import importlib
import os
from typing import Annotated

from pydantic import BaseModel

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, Depends, Security, HTTPException = fw.FastAPI, fw.Depends, fw.Security, fw.HTTPException
sec = importlib.import_module(f"{fw.__name__}.security")

oauth2 = sec.OAuth2PasswordBearer(
    tokenUrl="token", scopes={"me": "Read information about the current user.", "items": "Read items."}
)
oauth2_optional = sec.OAuth2PasswordBearer(tokenUrl="token", scheme_name="OptionalBearer", auto_error=False)
code_flow = sec.OAuth2AuthorizationCodeBearer(
    authorizationUrl="https://example.com/authorize", tokenUrl="https://example.com/token",
    refreshUrl="https://example.com/refresh", scopes={"read": "Read"}, description="Code flow",
)
oauth2_raw = sec.OAuth2(flows={"implicit": {"authorizationUrl": "https://example.com/auth", "scopes": {}}})
basic = sec.HTTPBasic(realm="simple")
basic_plain = sec.HTTPBasic(scheme_name="BasicNoRealm", auto_error=False)
bearer = sec.HTTPBearer(bearerFormat="JWT", description="A JWT")
bearer_optional = sec.HTTPBearer(scheme_name="OptionalHTTPBearer", auto_error=False)
digest = sec.HTTPDigest()
digest_optional = sec.HTTPDigest(scheme_name="OptionalDigest", auto_error=False)
key_header = sec.APIKeyHeader(name="X-API-Key", description="Header key")
key_query = sec.APIKeyQuery(name="api_key")
key_cookie = sec.APIKeyCookie(name="session")
key_header_optional = sec.APIKeyHeader(name="X-Optional-Key", scheme_name="OptionalKey", auto_error=False)
openid = sec.OpenIdConnect(openIdConnectUrl="https://example.com/.well-known/openid-configuration")
openid_optional = sec.OpenIdConnect(
    openIdConnectUrl="https://example.com/.well-known/openid-configuration", scheme_name="OptionalOIDC",
    auto_error=False,
)


class Token(BaseModel):
    access_token: str
    token_type: str


def _dump(value: object) -> object:
    return value.model_dump() if isinstance(value, BaseModel) else value


def current_user(security_scopes: sec.SecurityScopes, token: Annotated[str, Depends(oauth2)]):
    return {"token": token, "scopes": security_scopes.scopes}


app = FastAPI()


@app.post("/token")
def login(form: Annotated[sec.OAuth2PasswordRequestForm, Depends()]) -> Token:
    return Token(access_token=form.username, token_type="bearer")


@app.post("/token-strict")
def login_strict(form: Annotated[sec.OAuth2PasswordRequestFormStrict, Depends()]):
    return {"username": form.username, "scopes": form.scopes, "grant_type": form.grant_type}


@app.get("/oauth2")
def read_oauth2(token: Annotated[str, Depends(oauth2)]):
    return {"token": token}


@app.get("/oauth2-optional")
def read_oauth2_optional(token: Annotated[str | None, Depends(oauth2_optional)]):
    return {"token": token}


@app.get("/users/me")
def read_me(user: Annotated[dict, Security(current_user, scopes=["me"])]):
    return user


@app.get("/users/me/items")
def read_my_items(user: Annotated[dict, Security(current_user, scopes=["items", "me"])]):
    return user


@app.get("/scoped-list", dependencies=[Security(oauth2, scopes=["items"])])
def scoped_list():
    return {}


@app.get("/code")
def read_code(token: Annotated[str, Security(code_flow, scopes=["read"])]):
    return {"token": token}


@app.get("/oauth2-raw")
def read_oauth2_raw(authorization: Annotated[str, Depends(oauth2_raw)]):
    return {"authorization": authorization}


@app.get("/basic")
def read_basic(credentials: Annotated[sec.HTTPBasicCredentials, Depends(basic)]):
    return _dump(credentials)


@app.get("/basic-optional")
def read_basic_optional(credentials: Annotated[sec.HTTPBasicCredentials | None, Depends(basic_plain)]):
    return _dump(credentials)


@app.get("/bearer")
def read_bearer(credentials: Annotated[sec.HTTPAuthorizationCredentials, Depends(bearer)]):
    return _dump(credentials)


@app.get("/bearer-optional")
def read_bearer_optional(credentials: Annotated[sec.HTTPAuthorizationCredentials | None, Depends(bearer_optional)]):
    return _dump(credentials)


@app.get("/digest")
def read_digest(credentials: Annotated[sec.HTTPAuthorizationCredentials, Depends(digest)]):
    return _dump(credentials)


@app.get("/digest-optional")
def read_digest_optional(credentials: Annotated[sec.HTTPAuthorizationCredentials | None, Depends(digest_optional)]):
    return _dump(credentials)


@app.get("/key-header")
def read_key_header(key: Annotated[str, Depends(key_header)]):
    return {"key": key}


@app.get("/key-header-optional")
def read_key_header_optional(key: Annotated[str | None, Depends(key_header_optional)]):
    return {"key": key}


@app.get("/key-query")
def read_key_query(key: Annotated[str, Depends(key_query)]):
    return {"key": key}


@app.get("/key-cookie")
def read_key_cookie(key: Annotated[str, Depends(key_cookie)]):
    return {"key": key}


@app.get("/openid")
def read_openid(authorization: Annotated[str, Depends(openid)]):
    return {"authorization": authorization}


@app.get("/openid-optional")
def read_openid_optional(authorization: Annotated[str | None, Depends(openid_optional)]):
    return {"authorization": authorization}


@app.get("/any-of")
def read_any_of(
    key: Annotated[str | None, Depends(key_header_optional)],
    bearer_token: Annotated[sec.HTTPAuthorizationCredentials | None, Depends(bearer_optional)],
):
    if key is None and bearer_token is None:
        raise HTTPException(status_code=401, detail="No credentials")
    return {"key": key, "bearer": _dump(bearer_token)}


@app.get("/combined")
def read_combined(
    key: Annotated[str, Depends(key_query)],
    user: Annotated[dict, Security(current_user, scopes=["me"])],
    again: Annotated[dict, Security(current_user, scopes=["items"])],
):
    return {"key": key, "user": user, "again": again}
