"""The demo data set: reference data, demo staff logins and the builders that write them.

Everything here writes through the domain services, so the demo exercises the same
validation, ledger and timeline code as production. ``manage.py seed_demo`` runs it.
"""
