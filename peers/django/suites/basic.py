"""The basic suite on Django: views and their URLs."""

from django.http import HttpResponse, JsonResponse
from django.urls import path, register_converter
from django.views.decorators.http import require_GET

from catbench_shared import basic


class Int64Converter:
    """A path segment of digits within int64; anything else does not match (404)."""
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > basic.INT64_MAX:
            raise ValueError("beyond int64")  # Django's signal for "no match"
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(Int64Converter, "int64")


@require_GET
def plaintext(request):
    return HttpResponse(basic.PLAINTEXT_BODY, content_type="text/plain")


@require_GET
def json_message(request):
    return JsonResponse({"message": basic.JSON_MESSAGE})


@require_GET
def user(request, user_id: int):
    return JsonResponse(basic.user_document(user_id))


@require_GET
def search(request):
    limit = basic.search_limit(request.GET.get("limit"))
    return JsonResponse(basic.search_document(request.GET.get("q", ""), limit))


urlpatterns = [
    path("plaintext", plaintext),
    path("json", json_message),
    path("users/<int64:user_id>", user),
    path("search", search),
]
