"""One SQL implementation of every domain, shared by PostgreSQL and SQLite (SQLAlchemy Core)."""
