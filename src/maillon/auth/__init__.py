"""Accounts, sign-in, sessions and role-based authorisation.

Import from :mod:`maillon.auth.api`; see ``docs/security-auth.md``.
"""
