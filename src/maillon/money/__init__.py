"""Follow the money: transaction data, red-flag indicators, network features, alerts, STR drafts.

The public surface is :mod:`maillon.money.api`; see ``docs/money.md``.
"""
