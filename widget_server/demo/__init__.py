"""The demo: sample data, the mail viewer, the stand-in payment page, and two demo tenants."""

from pathlib import Path

# Used by `widget-server demo` when the tenants folder holds no tenant files.
TENANTS_DIR = Path(__file__).resolve().parent / "tenants"
