"""Tables, repositories, the unit of work and the Alembic migrations."""
