"""The basic suite on Tornado."""

import tornado.web

from catbench_shared import basic
from handlers import ContractHandler


class PlaintextHandler(ContractHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.finish(basic.PLAINTEXT_BODY)


class JSONHandler(ContractHandler):
    def get(self):
        self.finish({"message": basic.JSON_MESSAGE})


class UserHandler(ContractHandler):
    def get(self, raw_id):
        # The route admits only integer text; one beyond int64 is not a user either.
        user_id = basic.parse_int64(raw_id)
        if user_id is None:
            raise tornado.web.HTTPError(404)
        self.finish(basic.user_document(user_id))


class SearchHandler(ContractHandler):
    def get(self):
        limit = basic.search_limit(self.get_query_argument("limit", None))
        self.finish(basic.search_document(self.get_query_argument("q", ""), limit))


routes = [
    (r"/plaintext", PlaintextHandler),
    (r"/json", JSONHandler),
    (r"/users/([+-]?[0-9]+)", UserHandler),
    (r"/search", SearchHandler),
]
