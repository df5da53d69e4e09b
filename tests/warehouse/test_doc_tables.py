"""The warehouse documents itself: a comment on every table and column, and docs/tables.md in step."""

from paths import PROJECT

from warehouse.doc_tables import migrated_memory_db, tables_markdown


def test_every_table_and_column_has_a_comment() -> None:
    con = migrated_memory_db()
    try:
        bare_tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT internal "
            "AND coalesce(comment, '') = ''"
        ).fetchall()
        bare_columns = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND NOT internal AND coalesce(comment, '') = ''"
        ).fetchall()
        n_columns = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND NOT internal"
        ).fetchone()[0]
    finally:
        con.close()
    assert bare_tables == []
    assert bare_columns == []
    assert n_columns > 100  # the contract tables are all there, not an empty database


def test_docs_tables_md_is_generated_from_the_migrations() -> None:
    con = migrated_memory_db()
    try:
        expected = tables_markdown(con)
    finally:
        con.close()
    actual = (PROJECT / "docs" / "tables.md").read_text(encoding="utf-8")
    assert actual == expected, "regenerate: python -m warehouse.doc_tables > docs/tables.md"
