"""The database suite through SQLAlchemy 2's ORM, for the peers' ORM rows
(flask-sqlalchemy, fastapi-sqlalchemy, catzilla-sqlalchemy): catbench's
tables mapped as classes (the schema is catbench's; nothing is created),
work done in ORM sessions, the rest of the business logic — parameters,
answers, the fortunes page — from database.py, so that only the way to the
database differs from the raw rows.

Engines as a user would make them for production: a QueuePool of the
server's pool size with no overflow (the same number of connections as the
raw rows and the Swift stacks), no echo, not the StaticPool of single-file
examples. PostgreSQL through psycopg (sync) or asyncpg (async), each ORM
session in a transaction as SQLAlchemy begins it by default. SQLite through
sqlite3 or aiosqlite, with SQLAlchemy's documented recipe for transactions
SQLite understands: the driver in autocommit and the session's BEGIN
emitted by a hook — BEGIN IMMEDIATE for a session that will write (its first
connection is asked for with WRITE), since a read transaction that upgrades
later fails at once when another writer came in between.

What the ORM does on its own, and the counts show: a row read twice in one
request is one object (the identity map), so /updates writes it once;
SQLAlchemy writes a changed row at the flush, in primary-key order (no
deadlock between two requests on PostgreSQL); users with their posts are
two SELECTs (selectinload), not one per user."""

from sqlalchemy import ForeignKey, create_engine, event, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, load_only, mapped_column, relationship, selectinload, sessionmaker

from catbench_shared import database as data

# The execution option a writing session's first connection is asked for with.
WRITE = {"catbench_write": True}


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Unquoted in catbench's schema, so PostgreSQL folded it to lower case.
    randomNumber: Mapped[int] = mapped_column("randomnumber")


class Fortune(Base):
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str]
    email: Mapped[str]
    # lazy="raise": a forgotten eager load fails instead of becoming a query per user.
    posts: Mapped[list["Post"]] = relationship(order_by="Post.id", lazy="raise")


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str]
    body: Mapped[str]


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    balance: Mapped[int]


# ---- engines -------------------------------------------------------------------


def _pool(size: int) -> dict:
    return {"pool_size": size, "max_overflow": 0}


def _sqlite_transactions(engine) -> None:
    """SQLAlchemy's recipe for SQLite transactions, with catbench's pragmas."""

    @event.listens_for(engine, "connect")
    def connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in data.PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection):
        writing = connection.get_execution_options().get("catbench_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def _postgres_url(driver: str) -> str:
    url = data.postgres_url()
    return "postgresql+" + driver + url[url.index(":") :]


def sync_sessions(size: int) -> sessionmaker:
    """A sessionmaker on an engine of `size` pooled connections (psycopg or sqlite3)."""
    if data.POSTGRES:
        engine = create_engine(
            _postgres_url("psycopg"), connect_args={"application_name": data.application_name()}, **_pool(size)
        )
    else:
        engine = create_engine(f"sqlite:///{data.path()}", **_pool(size))
        _sqlite_transactions(engine)
    return sessionmaker(engine, expire_on_commit=False)


def async_sessions(size: int) -> tuple:
    """An async engine of `size` pooled connections (asyncpg or aiosqlite),
    and an async_sessionmaker on it."""
    if data.POSTGRES:
        engine = create_async_engine(
            _postgres_url("asyncpg"),
            connect_args={"server_settings": {"application_name": data.application_name()}},
            **_pool(size),
        )
    else:
        engine = create_async_engine(f"sqlite+aiosqlite:///{data.path()}", **_pool(size))
        _sqlite_transactions(engine.sync_engine)
    return engine, async_sessionmaker(engine, expire_on_commit=False)


# ---- statements and answers ------------------------------------------------------


def world_by_id(world_id: int):
    return select(World).where(World.id == world_id)


def users_page(limit: int, offset: int):
    return (
        select(User)
        .options(load_only(User.id, User.username), selectinload(User.posts).load_only(Post.id, Post.title))
        .order_by(User.id)
        .limit(limit)
        .offset(offset)
    )


def accounts_locked(source: int, target: int):
    """Both accounts, locked lower id first on PostgreSQL (SQLite's dialect
    leaves FOR UPDATE out: its writer lock is the session's BEGIN IMMEDIATE)."""
    return select(Account).where(Account.id.in_((source, target))).order_by(Account.id).with_for_update()


def world_document(world: World) -> dict:
    return {"id": world.id, "randomNumber": world.randomNumber}


def renumbered(worlds: list[World]) -> list[dict]:
    """Gives every row a new number; the answer shows each as it was given."""
    answer = []
    for world in worlds:
        world.randomNumber = data.random_id()
        answer.append(world_document(world))
    return answer


def users_document(users: list[User]) -> dict:
    return {
        "users": [
            {"id": u.id, "username": u.username, "posts": [{"id": p.id, "title": p.title} for p in u.posts]}
            for u in users
        ]
    }


def accounts_found(accounts, source: int, target: int) -> tuple[Account, Account]:
    found = {account.id: account for account in accounts}
    if target not in found:
        raise data.Refused(404, f"no account {target}")
    if source not in found:
        raise data.Refused(404, f"no account {source}")
    return found[source], found[target]


def insufficient(source: Account, amount: int) -> None:
    if source.balance < amount:
        raise data.Refused(409, f"insufficient funds: the balance is {source.balance}")


# ---- sync sessions (Flask) -------------------------------------------------------


def world(session, world_id: int) -> World:
    return session.scalars(world_by_id(world_id)).one()


def queries(session, count: int) -> list[dict]:
    return [world_document(world(session, data.random_id())) for _ in range(count)]


def updates(session, count: int) -> list[dict]:
    session.connection(execution_options=WRITE)
    try:
        answer = renumbered([world(session, data.random_id()) for _ in range(count)])
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return answer


def fortunes(session) -> str:
    return data.fortunes_page((f.id, f.message) for f in session.scalars(select(Fortune)))


def users_with_posts(session, limit: int, offset: int) -> dict:
    return users_document(session.scalars(users_page(limit, offset)).all())


def transfer(session, source_id: int, target_id: int, amount: int) -> dict:
    session.connection(execution_options=WRITE)
    try:
        source, target = accounts_found(session.scalars(accounts_locked(source_id, target_id)), source_id, target_id)
        target.balance += amount
        session.flush()  # the credit is written before the balance is judged
        insufficient(source, amount)
        source.balance -= amount
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return data.moved(source_id, target_id, amount, source.balance)


# ---- async sessions (FastAPI, Catzilla) ---------------------------------------------


async def async_world(session, world_id: int) -> World:
    return (await session.scalars(world_by_id(world_id))).one()


async def async_queries(session, count: int) -> list[dict]:
    return [world_document(await async_world(session, data.random_id())) for _ in range(count)]


async def async_updates(session, count: int) -> list[dict]:
    await session.connection(execution_options=WRITE)
    try:
        answer = renumbered([await async_world(session, data.random_id()) for _ in range(count)])
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return answer


async def async_fortunes(session) -> str:
    return data.fortunes_page((f.id, f.message) for f in await session.scalars(select(Fortune)))


async def async_users_with_posts(session, limit: int, offset: int) -> dict:
    return users_document((await session.scalars(users_page(limit, offset))).all())


async def async_transfer(session, source_id: int, target_id: int, amount: int) -> dict:
    await session.connection(execution_options=WRITE)
    try:
        found = await session.scalars(accounts_locked(source_id, target_id))
        source, target = accounts_found(found, source_id, target_id)
        target.balance += amount
        await session.flush()  # the credit is written before the balance is judged
        insufficient(source, amount)
        source.balance -= amount
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return data.moved(source_id, target_id, amount, source.balance)
