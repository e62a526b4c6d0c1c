"""The contact form's fields and their validation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Deliberately loose: the mail server is the real judge. No whitespace, so no header injection.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LIMITS = {"name": 100, "email": 254, "message": 5000}


@dataclass(frozen=True)
class ContactForm:
    name: str = ""
    email: str = ""
    message: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ContactForm:
        """The submitted fields, trimmed; missing ones are empty."""
        return cls(**{field: str(data.get(field, "")).strip() for field in LIMITS})

    def errors(self) -> dict[str, str]:
        """Field name -> what is wrong with it; empty when the form can be sent."""
        errors: dict[str, str] = {}
        for field, limit in LIMITS.items():
            value = getattr(self, field)
            if not value:
                errors[field] = "Please fill this in."
            elif len(value) > limit:
                errors[field] = f"Please keep this under {limit} characters."
        # The name goes into the Subject header: one line only.
        if "name" not in errors and any(c in self.name for c in "\r\n"):
            errors["name"] = "Please write your name on one line."
        if "email" not in errors and not EMAIL.fullmatch(self.email):
            errors["email"] = "This does not look like an email address."
        return errors
