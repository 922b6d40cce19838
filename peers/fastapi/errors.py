"""How this app answers a request FastAPI could not validate: the contract's
rules, not FastAPI's all-422. A body's errors → 422 listing every failing
field by path; malformed JSON, and bad path or query parameters → 400."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from catbench_shared import validation_model


async def validation_failed(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    if any(e["type"] == "json_invalid" for e in errors):
        return JSONResponse(validation_model.MALFORMED_JSON, status_code=400)
    # pydantic's location starts with where the value came from: ("body", "items", 3, "quantity").
    document = validation_model.errors_document((e["loc"][1:], e["msg"]) for e in errors)
    status = 422 if all(e["loc"][0] == "body" for e in errors) else 400
    return JSONResponse(document, status_code=status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_failed)
