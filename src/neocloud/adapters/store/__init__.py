"""The SQL store: SQLAlchemy 2 models, Alembic migrations, and the unit of work (SQLite or PostgreSQL)."""
