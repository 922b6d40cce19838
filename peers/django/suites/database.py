"""The database suite on Django under gunicorn's sync workers: Django's own
database connection (one per worker thread, kept: CONN_MAX_AGE=None, see
settings.py) and raw SQL through `connection.cursor()`; the write
transactions are `transaction.atomic()` blocks, begun IMMEDIATE on SQLite
(the sqlite backend's transaction_mode). On PostgreSQL, Django's
postgresql backend over psycopg."""

from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from catbench_shared import database as data


@require_GET
def db_one(request):
    with connection.cursor() as cursor:
        return JsonResponse(data.world_document(data.world(cursor, data.random_id())))


@require_GET
def queries(request):
    with connection.cursor() as cursor:
        return JsonResponse(data.queries(cursor, data.query_count(request.GET.get("queries"))), safe=False)


@require_GET
def updates(request):
    count = data.query_count(request.GET.get("queries"))
    with connection.cursor() as cursor:
        rows = [data.world_document(data.world(cursor, data.random_id())) for _ in range(count)]
        for row in rows:
            row["randomNumber"] = data.random_id()
        with transaction.atomic():
            cursor.executemany(data.sync_sql(data.UPDATE_WORLD), data.write_order(rows))
    return JsonResponse(rows, safe=False)


@require_GET
def fortunes(request):
    with connection.cursor() as cursor:
        return HttpResponse(data.fortunes(cursor), content_type="text/html; charset=utf-8")


@require_GET
def users_with_posts(request):
    limit, offset = data.page(request.GET.get("limit"), request.GET.get("offset"))
    with connection.cursor() as cursor:
        return JsonResponse(data.users_with_posts(cursor, limit, offset))


@csrf_exempt
@require_POST
def transfer(request):
    args = request.GET
    try:
        source, target, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        with transaction.atomic(), connection.cursor() as cursor:
            left = data.transfer_steps(cursor, source, target, amount)
        return JsonResponse(data.moved(source, target, amount, left))
    except data.Refused as refused:
        return JsonResponse(refused.document(), status=refused.status)


urlpatterns = [
    path("db", db_one),
    path("queries", queries),
    path("updates", updates),
    path("fortunes", fortunes),
    path("users-with-posts", users_with_posts),
    path("transfer", transfer),
]
