"""The basic suite on FastAPI. Endpoints that return the shared documents name
their model with response_model=: FastAPI validates the document into it and
dumps it with pydantic straight to JSON bytes (its documented fast path)."""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from catbench_shared import basic

router = APIRouter()


class MessageAnswer(BaseModel):
    message: str


class UserAnswer(BaseModel):
    id: int
    name: str


class SearchResult(BaseModel):
    id: int
    title: str


class SearchAnswer(BaseModel):
    query: str
    limit: int
    results: list[SearchResult]


@router.get("/plaintext", response_class=PlainTextResponse)
async def plaintext():
    return basic.PLAINTEXT_BODY


@router.get("/json", response_model=MessageAnswer)
async def json_message():
    return {"message": basic.JSON_MESSAGE}


@router.get("/users/{user_id}", response_model=UserAnswer)
async def user(user_id: Annotated[int, Path(ge=basic.INT64_MIN, le=basic.INT64_MAX)]):
    return basic.user_document(user_id)


@router.get("/search", response_model=SearchAnswer)
async def search(q: str = "", limit: str | None = None):
    # `limit` is text: the contract gives a non-integer the default rather than an error.
    return basic.search_document(q, basic.search_limit(limit))
