"""The catbench contract on Flask, served by gunicorn's sync workers.

Run as `gunicorn 'app:create_app()'` in this folder (see peers.json), Flask's
application-factory pattern. The app registers one Blueprint per suite: the
modules peers.json's "suites" names, from suites/. This module names no
suite; what is app-wide is here: the answers' key order and the validation
library the validation blueprint uses, `marshmallow` (the flask peer) or
`cerberus` (the flask-cerberus peer, `create_app(validator='cerberus')`).
"""

import importlib

from flask import Flask

from catbench_shared import runtime

VALIDATORS = ("marshmallow", "cerberus")


def create_app(validator: str = "marshmallow") -> Flask:
    if validator not in VALIDATORS:
        raise ValueError(f"unknown validator {validator!r}; this app has {', '.join(VALIDATORS)}")
    # No app-wide /static/ route: the files suite's blueprint serves that path.
    app = Flask(__name__, static_folder=None)
    # Keep answer keys in the contract's order (Flask sorts them by default).
    app.json.sort_keys = False
    app.config["CATBENCH_VALIDATOR"] = validator
    for module in runtime.suite_modules():
        app.register_blueprint(importlib.import_module(f"suites.{module}").blueprint)
    return app
