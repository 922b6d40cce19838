"""The files suite on Django: django.views.static.serve, Django's own view
for serving a folder (Last-Modified and If-Modified-Since; no ranges, no
ETag)."""

from django.urls import re_path
from django.views.static import serve

from catbench_shared import runtime

# None: a run without the files suite, which mounts nothing.
FOLDER = runtime.static_dir()
urlpatterns = [] if FOLDER is None else [re_path(r"^static/(?P<path>.*)$", serve, {"document_root": FOLDER})]
