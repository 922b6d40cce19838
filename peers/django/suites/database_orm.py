"""The database suite on Django through its ORM (the django-orm row):
unmanaged models over catbench's tables (the schema is catbench's; Django
creates nothing), querysets instead of `connection.cursor()`, the same
connection (one per worker thread, kept) and transactions as the raw row
(`transaction.atomic()`, IMMEDIATE on SQLite; autocommit reads), gunicorn's
sync workers. Django's own idioms where it has them: `bulk_update` writes
the updated rows in one statement, `prefetch_related` loads the users'
posts in a second query, `select_for_update` locks the accounts on
PostgreSQL (Django leaves it out on SQLite, whose writer lock the IMMEDIATE
transaction holds)."""

from django.db import models, transaction
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from catbench_shared import database as data


class World(models.Model):
    id = models.IntegerField(primary_key=True)
    # Unquoted in catbench's schema, so PostgreSQL folded it to lower case.
    randomnumber = models.IntegerField()

    class Meta:
        app_label = "catbench"
        db_table = "world"
        managed = False


class Fortune(models.Model):
    id = models.IntegerField(primary_key=True)
    message = models.TextField()

    class Meta:
        app_label = "catbench"
        db_table = "fortune"
        managed = False


class User(models.Model):
    id = models.IntegerField(primary_key=True)
    username = models.TextField()
    email = models.TextField()

    class Meta:
        app_label = "catbench"
        db_table = "users"
        managed = False


class Post(models.Model):
    id = models.IntegerField(primary_key=True)
    user = models.ForeignKey(User, related_name="posts", on_delete=models.DO_NOTHING)
    title = models.TextField()
    body = models.TextField()

    class Meta:
        app_label = "catbench"
        db_table = "posts"
        managed = False


class Account(models.Model):
    id = models.IntegerField(primary_key=True)
    balance = models.IntegerField()

    class Meta:
        app_label = "catbench"
        db_table = "accounts"
        managed = False


def document(world: World) -> dict:
    return {"id": world.id, "randomNumber": world.randomnumber}


@require_GET
def db_one(request):
    return JsonResponse(document(World.objects.get(id=data.random_id())))


@require_GET
def queries(request):
    count = data.query_count(request.GET.get("queries"))
    return JsonResponse([document(World.objects.get(id=data.random_id())) for _ in range(count)], safe=False)


@require_GET
def updates(request):
    count = data.query_count(request.GET.get("queries"))
    worlds = [World.objects.get(id=data.random_id()) for _ in range(count)]
    answer = []
    for world in worlds:
        world.randomnumber = data.random_id()
        answer.append(document(world))
    # A row drawn twice is two objects here (Django has no identity map): the
    # later one is written, as in the raw rows; in id order, so that two
    # requests' updates do not deadlock on PostgreSQL.
    last = {world.id: world for world in worlds}
    with transaction.atomic():
        World.objects.bulk_update(sorted(last.values(), key=lambda w: w.id), ["randomnumber"])
    return JsonResponse(answer, safe=False)


@require_GET
def fortunes(request):
    page = data.fortunes_page((f.id, f.message) for f in Fortune.objects.all())
    return HttpResponse(page, content_type="text/html; charset=utf-8")


@require_GET
def users_with_posts(request):
    limit, offset = data.page(request.GET.get("limit"), request.GET.get("offset"))
    posts = Prefetch("posts", queryset=Post.objects.only("id", "title", "user_id").order_by("id"))
    users = User.objects.only("id", "username").order_by("id").prefetch_related(posts)[offset : offset + limit]
    return JsonResponse(
        {
            "users": [
                {"id": u.id, "username": u.username, "posts": [{"id": p.id, "title": p.title} for p in u.posts.all()]}
                for u in users
            ]
        }
    )


@csrf_exempt
@require_POST
def transfer(request):
    args = request.GET
    try:
        source_id, target_id, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        with transaction.atomic():
            found = {a.id: a for a in Account.objects.select_for_update().filter(id__in=(source_id, target_id)).order_by("id")}
            if target_id not in found:
                raise data.Refused(404, f"no account {target_id}")
            if source_id not in found:
                raise data.Refused(404, f"no account {source_id}")
            source, target = found[source_id], found[target_id]
            target.balance += amount
            target.save(update_fields=["balance"])  # the credit is written before the balance is judged
            if source.balance < amount:
                raise data.Refused(409, f"insufficient funds: the balance is {source.balance}")
            source.balance -= amount
            source.save(update_fields=["balance"])
        return JsonResponse(data.moved(source_id, target_id, amount, source.balance))
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
