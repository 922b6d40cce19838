"""What every handler of this peer shares."""

import tornado.web

from catbench_shared import middleware_policy


class ContractHandler(tornado.web.RequestHandler):
    """The base of every handler: JSON answers."""

    def compute_etag(self):
        # No ETag: Tornado would otherwise hash every 200 body to answer
        # If-None-Match, which no client of the contract sends.
        return None

    def answer(self, document, status=200):
        self.set_status(status)
        self.finish(document)

    def refuse(self, status, message, headers=()):
        for name, value in headers:
            self.set_header(name, value)
        self.answer(middleware_policy.error_document(message), status)
