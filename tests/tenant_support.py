"""Tenant helpers: the demo tenants as a registry, and tenant files to write, good or broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from widget_server.core.tenants import TenantError, load_tenants
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS

# The shipped demo tenants (`demo` in London, `demo-sk` in Bratislava), no secrets set.
TENANTS = load_tenants(DEMO_TENANTS, {}, demo=True)

# The smallest valid tenant file; `GOOD.format(slug="good")`.
GOOD = """
slug = "{slug}"
name = "Test School"
[email]
sender = "Test <t@example.com>"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def problems(directory: Path) -> list[str]:
    """What start-up says is wrong with the tenant files in `directory` (it must refuse)."""
    with pytest.raises(TenantError) as caught:
        load_tenants(directory, {})
    return caught.value.problems
