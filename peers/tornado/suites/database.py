"""The database suite on Tornado: native coroutines over aiosqlite, a fixed
pool of connections per process (opened on the first request, in its
loop), one connection per request."""

from catbench_shared import database as data
from catbench_shared import runtime
from handlers import ContractHandler

pool = data.AsyncPool(runtime.pool_threads())


class DatabaseHandler(ContractHandler):
    async def with_db(self, work):
        db = await pool.acquire()
        try:
            return await work(db)
        finally:
            pool.release(db)

    def json_list(self, rows):
        # Tornado's finish() takes a dict; a list is written as JSON by hand.
        self.set_header("Content-Type", "application/json")
        self.finish(json_encode(rows))


class DBHandler(DatabaseHandler):
    async def get(self):
        self.finish(data.world_document(await self.with_db(lambda db: data.async_world(db, data.random_id()))))


class QueriesHandler(DatabaseHandler):
    async def get(self):
        count = data.query_count(self.get_query_argument("queries", None))
        self.json_list(await self.with_db(lambda db: data.async_queries(db, count)))


class UpdatesHandler(DatabaseHandler):
    async def get(self):
        count = data.query_count(self.get_query_argument("queries", None))
        self.json_list(await self.with_db(lambda db: data.async_updates(db, count)))


class FortunesHandler(DatabaseHandler):
    async def get(self):
        page = await self.with_db(data.async_fortunes)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page)


class UsersWithPostsHandler(DatabaseHandler):
    async def get(self):
        limit, offset = data.page(self.get_query_argument("limit", None), self.get_query_argument("offset", None))
        self.finish(await self.with_db(lambda db: data.async_users_with_posts(db, limit, offset)))


class TransferHandler(DatabaseHandler):
    async def post(self):
        args = [self.get_query_argument(name, None) for name in ("from", "to", "amount")]
        try:
            source, target, amount = data.transfer_params(*args)
            self.finish(await self.with_db(lambda db: data.async_transfer(db, source, target, amount)))
        except data.Refused as refused:
            self.answer(refused.document(), refused.status)


def json_encode(value) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


routes = [
    (r"/db", DBHandler),
    (r"/queries", QueriesHandler),
    (r"/updates", UpdatesHandler),
    (r"/fortunes", FortunesHandler),
    (r"/users-with-posts", UsersWithPostsHandler),
    (r"/transfer", TransferHandler),
]
