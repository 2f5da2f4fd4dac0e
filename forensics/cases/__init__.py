"""Cases and sign-in: accounts, cases with their evidence and work, the evidence store, the database.

- ``db``: the SQLAlchemy engine (SQLite by default, PostgreSQL by URL) and the versioned migrations.
- ``accounts``: users, roles, argon2 password hashes, rate-limited sign-in.
- ``store``: the read-only, content-addressed evidence store (files named by their sha256).
- ``cases``: cases, their members, evidence items and records (analyses, explanations, checks, reports, notes).
- ``roots``: evidence roots that confine the local paths and folders the server reads.
- ``workbench``: the three above bound together, and every action written to the audit log.
"""
