"""Passwordless login: one-time codes and signed links by e-mail, logging out."""
