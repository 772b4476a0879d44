"""OpenAPI: the document (`utils.get_openapi`), its models, and the /docs and /redoc pages."""
