"""Security schemes: API keys, HTTP auth, OAuth2, OpenID Connect (FastAPI's ``fastapi.security``)."""

from __future__ import annotations

from fastrapi.security.api_key import APIKeyCookie as APIKeyCookie
from fastrapi.security.api_key import APIKeyHeader as APIKeyHeader
from fastrapi.security.api_key import APIKeyQuery as APIKeyQuery
from fastrapi.security.http import HTTPAuthorizationCredentials as HTTPAuthorizationCredentials
from fastrapi.security.http import HTTPBasic as HTTPBasic
from fastrapi.security.http import HTTPBasicCredentials as HTTPBasicCredentials
from fastrapi.security.http import HTTPBearer as HTTPBearer
from fastrapi.security.http import HTTPDigest as HTTPDigest
from fastrapi.security.oauth2 import OAuth2 as OAuth2
from fastrapi.security.oauth2 import OAuth2AuthorizationCodeBearer as OAuth2AuthorizationCodeBearer
from fastrapi.security.oauth2 import OAuth2PasswordBearer as OAuth2PasswordBearer
from fastrapi.security.oauth2 import OAuth2PasswordRequestForm as OAuth2PasswordRequestForm
from fastrapi.security.oauth2 import OAuth2PasswordRequestFormStrict as OAuth2PasswordRequestFormStrict
from fastrapi.security.oauth2 import SecurityScopes as SecurityScopes
from fastrapi.security.open_id_connect_url import OpenIdConnect as OpenIdConnect

__all__ = [
    "APIKeyCookie",
    "APIKeyHeader",
    "APIKeyQuery",
    "HTTPAuthorizationCredentials",
    "HTTPBasic",
    "HTTPBasicCredentials",
    "HTTPBearer",
    "HTTPDigest",
    "OAuth2",
    "OAuth2AuthorizationCodeBearer",
    "OAuth2PasswordBearer",
    "OAuth2PasswordRequestForm",
    "OAuth2PasswordRequestFormStrict",
    "OpenIdConnect",
    "SecurityScopes",
]
