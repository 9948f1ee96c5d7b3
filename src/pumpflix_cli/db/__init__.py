"""The database adapter: the only package that imports SQLAlchemy, psycopg and Alembic."""
