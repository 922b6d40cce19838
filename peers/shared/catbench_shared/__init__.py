"""Business logic shared by every peer, ported from Sources/Frameworks/SharedLogic.

Every peer (FastAPI, Flask, Django, aiohttp, Tornado, Catzilla) imports these
modules, so that only the framework's mechanism (routing, middleware, DI,
validation, async) differs between peers, never the work a request does. One
module per subject; each names the Swift file it comes from. Answers the
verifier compares are the same byte for byte as the embedded stacks'.

Only the standard library is used here. What is validation (types, rules,
collecting the errors) is each peer's validation library, never this package:
validation_model holds only the model's numbers, its normalisation, the total
and the error-path format.
"""
