from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from neocloud.adapters.store.database import alembic_config, make_engine, migrate
from neocloud.adapters.store.tables import Base


def test_migrations_match_the_models_and_go_down_and_up(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
