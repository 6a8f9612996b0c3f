"""The main pool: a connection whose server process died is replaced on checkout."""

from __future__ import annotations

import psycopg
from sqlalchemy import text

from services.db import database_url, unit_of_work


def test_a_dead_pooled_connection_is_replaced_without_an_error():
    # What a PostgreSQL restart does to every pooled connection, done to one of them.
    with unit_of_work() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(database_url(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        admin.execute("SELECT pg_sleep(0.1)")
    with unit_of_work() as s:  # the BEGIN on checkout fails, the pool reconnects
        assert s.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_a_transaction_is_open_from_checkout_and_ends_with_the_unit_of_work():
    with unit_of_work() as s:
        conn = s.connection().connection.driver_connection
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        s.execute(text("CREATE TEMP TABLE scratch (x int) ON COMMIT DROP"))
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
