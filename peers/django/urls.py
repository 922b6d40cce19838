"""The root URLconf: one include() per suite, the urls modules peers.json's
"suites" names, from suites/."""

from django.http import JsonResponse
from django.urls import include, path

from catbench_shared import basic, runtime

urlpatterns = [path("", include(f"suites.{module}")) for module in runtime.suite_modules()]


def not_found(request, exception):
    return JsonResponse(basic.NOT_FOUND, status=404)


handler404 = not_found
