"""Small helpers FastAPI apps import from ``fastapi.utils``."""

from __future__ import annotations

import re
from typing import Any


def generate_unique_id(route: Any) -> str:
    """The default operation id: route name + path, non-word characters as ``_``, + method."""
    operation_id = re.sub(r"\W", "_", f"{route.name}{route.path_format}")
    methods = getattr(route, "_method_order", None) or list(route.methods)
    return f"{operation_id}_{methods[0].lower()}"


def deep_dict_update(main_dict: dict[Any, Any], update_dict: dict[Any, Any]) -> None:
    """Merge ``update_dict`` into ``main_dict``: dicts merged recursively, lists concatenated."""
    for key, value in update_dict.items():
        current = main_dict.get(key)
        if key in main_dict and isinstance(current, dict) and isinstance(value, dict):
            deep_dict_update(current, value)
        elif key in main_dict and isinstance(current, list) and isinstance(value, list):
            main_dict[key] = current + value
        else:
            main_dict[key] = value
