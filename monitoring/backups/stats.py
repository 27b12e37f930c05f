"""What a database holds, table by table: row count and an order-independent checksum of primary keys.

Taken from the source inside the dump's own snapshot and again from a restored copy; equal stats mean
the copy holds the same tables with the same rows (by key). Order-independent, so no sort and memory
bounded: for a single integer key the database itself sums the ids and their squares modulo a prime;
for any other key the rows are streamed and the checksum is the sum, modulo 2**128, of BLAKE2b-128 of
each key's text. Compared only between databases of the same vendor.
"""

import hashlib

_BATCH = 20_000
_MOD = 1 << 128


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(cursor, vendor: str) -> list[str]:
    if vendor == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return sorted(row[0] for row in cursor.fetchall())


def _pk_columns(cursor, vendor: str) -> dict[str, list[tuple[str, bool]]]:
    """{table: [(column, is an integer)]} of every table's primary key, in key order: one catalogue query
    for all tables (a round trip per table cost more than the stats of the small ones)."""
    if vendor == "sqlite":
        cursor.execute("SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p "
                       "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND p.pk > 0 ORDER BY m.name, p.pk")
        rows = [(table, column, "INT" in (kind or "").upper()) for table, column, kind in cursor.fetchall()]
    else:
        cursor.execute(
            "SELECT c.relname, a.attname, a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indisprimary AND n.nspname = current_schema() ORDER BY c.relname, a.attnum")
        rows = [(table, column, bool(integer)) for table, column, integer in cursor.fetchall()]
    keys: dict[str, list[tuple[str, bool]]] = {}
    for table, column, integer in rows:
        keys.setdefault(table, []).append((column, integer))
    return keys


# For a single integer key the database sums in C: the count, the sum of ids and the sum of their squares
# modulo a prime (kept in 64 bits on both vendors), so a missing, extra or changed id shows. The tables
# are aggregated in one UNION ALL statement per chunk (SQLite allows 500 terms in a compound select).
_PRIME = 2147483647
_RESIDUE = f"(CAST({{c}} AS bigint) % {_PRIME})"  # bigint: an int4 key's square must not overflow
_INTEGER_SQL = ("SELECT {n}, count(*), coalesce(sum({c}), 0), "
                f"coalesce(sum(({_RESIDUE} * {_RESIDUE}) % {_PRIME}), 0) FROM {{t}}")
_UNION_CHUNK = 200


def _digest(values) -> int:
    text = "\x1f".join("" if value is None else str(value) for value in values)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=16).digest(), "big")


def _integer_key_stats(cursor, keys: dict[str, str]) -> dict:
    result = {}
    tables = sorted(keys)
    for start in range(0, len(tables), _UNION_CHUNK):
        chunk = tables[start:start + _UNION_CHUNK]
        cursor.execute(" UNION ALL ".join(
            _INTEGER_SQL.format(n=index, c=quote(keys[table]), t=quote(table)) for index, table in enumerate(chunk)))
        for index, count, total, squares in cursor.fetchall():
            result[chunk[int(index)]] = {"rows": int(count), "pk_checksum": f"int:{int(total)}:{int(squares)}"}
    return result


def table_stats(connection, vendor: str, make_stream_cursor=None) -> dict:
    """{table: {"rows": n, "pk_checksum": hex}} for every table of a DB-API connection.

    `make_stream_cursor()` gives a cursor that streams (a PostgreSQL server-side cursor); by default
    the connection's plain cursor (SQLite reads lazily anyway). Tables without a primary key are
    checksummed over all their columns.
    """
    meta = connection.cursor()
    tables, keys = _tables(meta, vendor), _pk_columns(meta, vendor)
    integer_keys = {table: keys[table][0][0] for table in tables
                    if len(keys.get(table, ())) == 1 and keys[table][0][1]}
    result = _integer_key_stats(meta, integer_keys)
    for table in tables:
        if table in integer_keys:
            continue
        columns = keys.get(table, [])
        selected = ", ".join(quote(c) for c, _ in columns) if columns else "*"
        stream = make_stream_cursor() if make_stream_cursor else connection.cursor()
        stream.execute(f"SELECT {selected} FROM {quote(table)}")
        rows = total = 0
        while batch := stream.fetchmany(_BATCH):
            rows += len(batch)
            for row in batch:
                total += _digest(row)
        stream.close()
        result[table] = {"rows": rows, "pk_checksum": f"{total % _MOD:032x}"}
    meta.close()
    return dict(sorted(result.items()))


def applied_migrations(connection) -> dict:
    """{app: latest applied migration name} read from a DB-API connection's django_migrations."""
    cursor = connection.cursor()
    try:
        cursor.execute("SELECT app, name FROM django_migrations")
        rows = cursor.fetchall()
    finally:
        cursor.close()
    latest: dict[str, str] = {}
    for app, name in rows:
        if name > latest.get(app, ""):
            latest[app] = name
    return dict(sorted(latest.items()))


def compare(expected: dict, actual: dict) -> list[str]:
    """The differences between two table_stats() results, as sentences; [] when they agree."""
    differences = []
    for table in sorted(set(expected) - set(actual)):
        differences.append(f"table {table} is missing from the copy")
    for table in sorted(set(actual) - set(expected)):
        differences.append(f"table {table} is in the copy but was not in the source")
    for table in sorted(set(expected) & set(actual)):
        want, got = expected[table], actual[table]
        if want["rows"] != got["rows"]:
            differences.append(f"table {table}: {got['rows']} rows, the source had {want['rows']}")
        elif want["pk_checksum"] != got["pk_checksum"]:
            differences.append(f"table {table}: the same number of rows but different primary keys")
    return differences
