"""The database suite's business logic for every peer, as the Swift stacks'
(Sources/Suites/Database/DatabaseData.swift): the SQL, the parameter rules,
the fortunes page and the transfer's steps, over a sync DB-API connection
(sqlite3 or psycopg, Django's cursor) or an async one (aiosqlite or asyncpg).
The database is the one catbench seeded: CATBENCH_DATABASE says which,
CATBENCH_SQLITE_PATH the SQLite file, CATBENCH_POSTGRES_URL the PostgreSQL
server.

On SQLite every connection gets what catbench's own get: WAL (set in the
file), a busy timeout of 5 s, synchronous=NORMAL. Write transactions begin
IMMEDIATE: one that read first and upgraded later could deadlock with
another and fail at once, without waiting. On PostgreSQL rows are written in
id order and a transfer locks both accounts, lower id first (the Swift
stacks' rules), so that concurrent requests do not deadlock."""

import asyncio
import html
import os
import random
import sqlite3

WORLD_ROWS = 10_000
BUSY_TIMEOUT_MS = 5000
ADDED_FORTUNE = "Additional fortune added at request time."

SELECT_WORLD = "SELECT id, randomNumber FROM world WHERE id = ?"
UPDATE_WORLD = "UPDATE world SET randomNumber = ? WHERE id = ?"
SELECT_FORTUNES = "SELECT id, message FROM fortune"
SELECT_USERS_WITH_POSTS = """
    SELECT u.id, u.username, p.id, p.title
    FROM (SELECT id, username FROM users ORDER BY id LIMIT ? OFFSET ?) AS u
    LEFT JOIN posts AS p ON p.user_id = u.id
    ORDER BY u.id, p.id
"""
CREDIT = "UPDATE accounts SET balance = balance + ? WHERE id = ?"
DEBIT = "UPDATE accounts SET balance = balance - ? WHERE id = ?"
SELECT_BALANCE = "SELECT balance FROM accounts WHERE id = ?"
PRAGMAS = (f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}", "PRAGMA synchronous = NORMAL")
LOCK_ACCOUNTS = "SELECT id, balance FROM accounts WHERE id IN (?, ?) ORDER BY id FOR UPDATE"

POSTGRES = os.environ.get("CATBENCH_DATABASE") == "postgres"
BEGIN_WRITE = "BEGIN" if POSTGRES else "BEGIN IMMEDIATE"


def sync_sql(sql: str) -> str:
    """A statement in the sync driver's parameter style (psycopg's %s, sqlite3's ?)."""
    return sql.replace("?", "%s") if POSTGRES else sql


def async_sql(sql: str) -> str:
    """A statement in the async driver's parameter style (asyncpg's $1…, aiosqlite's ?)."""
    if not POSTGRES:
        return sql
    parts = sql.split("?")
    return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))


def postgres_url() -> str:
    found = os.environ.get("CATBENCH_POSTGRES_URL")
    if not found:
        raise RuntimeError("CATBENCH_POSTGRES_URL is not set: catbench starts the database with the suite")
    return found


def application_name() -> str:
    return "catbench-peer"


def path() -> str:
    found = os.environ.get("CATBENCH_SQLITE_PATH")
    if not found:
        raise RuntimeError("CATBENCH_SQLITE_PATH is not set: catbench starts the database with the suite")
    return found


# ---- parameters --------------------------------------------------------------


def query_count(text: str | None) -> int:
    """TechEmpower's rule: 1…500; missing, 0, foo or empty give 1."""
    try:
        n = int(text) if text is not None else 1
    except ValueError:
        return 1
    return min(max(n, 1), 500)


def page(limit: str | None, offset: str | None) -> tuple[int, int]:
    """limit 1…50 (default 10), offset ≥ 0 (default 0)."""

    def number(text, default):
        try:
            return int(text) if text is not None else default
        except ValueError:
            return default

    return min(max(number(limit, 10), 1), 50), max(number(offset, 0), 0)


def random_id() -> int:
    return random.randint(1, WORLD_ROWS)


class Refused(Exception):
    """A transfer that does not happen: its status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def document(self) -> dict:
        return {"error": self.message}


def transfer_params(source, target, amount) -> tuple[int, int, int]:
    try:
        a, b, x = int(source), int(target), int(amount)
    except (TypeError, ValueError):
        raise Refused(400, "from, to and amount must be integers") from None
    if a == b:
        raise Refused(400, "from and to must differ")
    if not 0 < x <= 1_000_000_000:
        raise Refused(400, "amount must be 1…1000000000")
    return a, b, x


def moved(source: int, target: int, amount: int, balance: int) -> dict:
    return {"from": source, "to": target, "amount": amount, "balance": balance}


# ---- answers -----------------------------------------------------------------


def world_document(row) -> dict:
    return {"id": row[0], "randomNumber": row[1]}


def fortunes_page(rows) -> str:
    """The rows plus the one added at request time, sorted by message (code
    points), HTML-escaped, as TechEmpower's page."""
    rows = list(rows) + [(0, ADDED_FORTUNE)]
    rows.sort(key=lambda row: row[1])
    cells = "".join(f"<tr><td>{row[0]}</td><td>{html.escape(row[1])}</td></tr>" for row in rows)
    return (
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
        f"<tr><th>id</th><th>message</th></tr>{cells}</table></body></html>"
    )


def users_document(rows) -> dict:
    """One joined result (user, post) folded into users with their posts."""
    users: list[dict] = []
    for user_id, username, post_id, title in rows:
        if not users or users[-1]["id"] != user_id:
            users.append({"id": user_id, "username": username, "posts": []})
        if post_id is not None:
            users[-1]["posts"].append({"id": post_id, "title": title})
    return {"users": users}


# ---- sync (sqlite3, or any DB-API cursor) -------------------------------------


def connect():
    """A connection for one thread; autocommit, transactions begun by hand."""
    if POSTGRES:
        import psycopg

        return psycopg.connect(postgres_url(), autocommit=True, application_name=application_name())
    connection = sqlite3.connect(path(), isolation_level=None, check_same_thread=True)
    for pragma in PRAGMAS:
        connection.execute(pragma)
    return connection


def world(cursor, world_id: int):
    cursor.execute(sync_sql(SELECT_WORLD), (world_id,))
    return cursor.fetchone()


def write_order(rows: list[dict]) -> list[tuple[int, int]]:
    """(number, id) pairs to write: in id order on PostgreSQL (no deadlock between two updates)."""
    pairs = [(row["randomNumber"], row["id"]) for row in rows]
    return sorted(pairs, key=lambda pair: pair[1]) if POSTGRES else pairs


def queries(cursor, count: int) -> list[dict]:
    return [world_document(world(cursor, random_id())) for _ in range(count)]


def updates(cursor, count: int) -> list[dict]:
    """Reads each row, then writes each back with a new number in one write transaction."""
    rows = [world_document(world(cursor, random_id())) for _ in range(count)]
    for row in rows:
        row["randomNumber"] = random_id()
    cursor.execute(BEGIN_WRITE)
    try:
        for pair in write_order(rows):
            cursor.execute(sync_sql(UPDATE_WORLD), pair)
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    cursor.execute("COMMIT")
    return rows


def fortunes(cursor) -> str:
    cursor.execute(sync_sql(SELECT_FORTUNES))
    return fortunes_page(cursor.fetchall())


def users_with_posts(cursor, limit: int, offset: int) -> dict:
    cursor.execute(sync_sql(SELECT_USERS_WITH_POSTS), (limit, offset))
    return users_document(cursor.fetchall())


def transfer_steps(cursor, source: int, target: int, amount: int) -> int:
    """Inside a transaction: credit, check, debit; raises Refused (the caller rolls back).
    On PostgreSQL both accounts are locked first, lower id first."""
    if POSTGRES:
        cursor.execute(sync_sql(LOCK_ACCOUNTS), (source, target))
        balances = dict(cursor.fetchall())
        if target not in balances:
            raise Refused(404, f"no account {target}")
        if source not in balances:
            raise Refused(404, f"no account {source}")
        cursor.execute(sync_sql(CREDIT), (amount, target))
        found = (balances[source],)
    else:
        cursor.execute(CREDIT, (amount, target))
        if cursor.rowcount != 1:
            raise Refused(404, f"no account {target}")
        cursor.execute(SELECT_BALANCE, (source,))
        found = cursor.fetchone()
        if found is None:
            raise Refused(404, f"no account {source}")
    if found[0] < amount:
        raise Refused(409, f"insufficient funds: the balance is {found[0]}")
    cursor.execute(sync_sql(DEBIT), (amount, source))
    return found[0] - amount


def transfer(cursor, source: int, target: int, amount: int) -> dict:
    cursor.execute(BEGIN_WRITE)
    try:
        left = transfer_steps(cursor, source, target, amount)
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    cursor.execute("COMMIT")
    return moved(source, target, amount, left)


# ---- async (aiosqlite or asyncpg) ----------------------------------------------


class SQLiteAsync:
    """An aiosqlite connection (its own thread, as aiosqlite works)."""

    def __init__(self, connection):
        self.connection = connection

    async def fetchone(self, sql, args=()):
        async with self.connection.execute(sql, args) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql, args=()):
        async with self.connection.execute(sql, args) as cursor:
            return await cursor.fetchall()

    async def execute(self, sql, args=()) -> int:
        cursor = await self.connection.execute(sql, args)
        return cursor.rowcount

    async def close(self):
        await self.connection.close()


class PostgresAsync:
    """An asyncpg connection (statements prepared and cached by asyncpg)."""

    def __init__(self, connection):
        self.connection = connection

    async def fetchone(self, sql, args=()):
        return await self.connection.fetchrow(sql, *args)

    async def fetchall(self, sql, args=()):
        return await self.connection.fetch(sql, *args)

    async def execute(self, sql, args=()) -> int:
        status = await self.connection.execute(sql, *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def close(self):
        await self.connection.close()


class AsyncPool:
    """A fixed pool of connections, one per request, awaited while all are in
    use. Not asyncpg's own pool: it runs reset statements (a SELECT among
    them) at every release, which PostgreSQL would count as the request's."""

    def __init__(self, size: int):
        self.size = size
        self.idle: asyncio.Queue | None = None
        self.opened: asyncio.Task | None = None
        self.all: list = []

    async def open(self):
        """Opens every connection, once (on the first request: inside the server's loop)."""
        for _ in range(self.size):
            if POSTGRES:
                import asyncpg

                connection = PostgresAsync(
                    await asyncpg.connect(postgres_url(), server_settings={"application_name": application_name()})
                )
            else:
                import aiosqlite

                raw = await aiosqlite.connect(path(), isolation_level=None)
                for pragma in PRAGMAS:
                    await raw.execute(pragma)
                connection = SQLiteAsync(raw)
            self.all.append(connection)
            self.idle.put_nowait(connection)

    async def acquire(self):
        if self.opened is None:
            self.idle = asyncio.Queue()
            self.opened = asyncio.get_running_loop().create_task(self.open())
        await self.opened
        return await self.idle.get()

    def release(self, connection):
        self.idle.put_nowait(connection)

    async def close(self):
        for connection in self.all:
            await connection.close()
        self.all = []
        self.opened = None


A_SELECT_WORLD = async_sql(SELECT_WORLD)
A_UPDATE_WORLD = async_sql(UPDATE_WORLD)
A_SELECT_FORTUNES = async_sql(SELECT_FORTUNES)
A_SELECT_USERS_WITH_POSTS = async_sql(SELECT_USERS_WITH_POSTS)
A_LOCK_ACCOUNTS = async_sql(LOCK_ACCOUNTS)
A_CREDIT = async_sql(CREDIT)
A_DEBIT = async_sql(DEBIT)
A_SELECT_BALANCE = async_sql(SELECT_BALANCE)


async def async_world(db, world_id: int):
    return await db.fetchone(A_SELECT_WORLD, (world_id,))


async def async_queries(db, count: int) -> list[dict]:
    return [world_document(await async_world(db, random_id())) for _ in range(count)]


async def async_updates(db, count: int) -> list[dict]:
    rows = [world_document(await async_world(db, random_id())) for _ in range(count)]
    for row in rows:
        row["randomNumber"] = random_id()
    await db.execute(BEGIN_WRITE)
    try:
        for pair in write_order(rows):
            await db.execute(A_UPDATE_WORLD, pair)
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return rows


async def async_fortunes(db) -> str:
    return fortunes_page(await db.fetchall(A_SELECT_FORTUNES))


async def async_users_with_posts(db, limit: int, offset: int) -> dict:
    return users_document(await db.fetchall(A_SELECT_USERS_WITH_POSTS, (limit, offset)))


async def async_transfer(db, source: int, target: int, amount: int) -> dict:
    await db.execute(BEGIN_WRITE)
    try:
        if POSTGRES:
            balances = {row[0]: row[1] for row in await db.fetchall(A_LOCK_ACCOUNTS, (source, target))}
            if target not in balances:
                raise Refused(404, f"no account {target}")
            if source not in balances:
                raise Refused(404, f"no account {source}")
            await db.execute(A_CREDIT, (amount, target))
            found = (balances[source],)
        else:
            if await db.execute(A_CREDIT, (amount, target)) != 1:
                raise Refused(404, f"no account {target}")
            found = await db.fetchone(A_SELECT_BALANCE, (source,))
            if found is None:
                raise Refused(404, f"no account {source}")
        if found[0] < amount:
            raise Refused(409, f"insufficient funds: the balance is {found[0]}")
        await db.execute(A_DEBIT, (amount, source))
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return moved(source, target, amount, found[0] - amount)
