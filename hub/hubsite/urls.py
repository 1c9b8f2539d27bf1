"""URLs: the sync API (docs/SYNC.md) under /v1/, the staff admin under /admin/, and the care
team's web app (care/urls.py, docs/CARE.md) at the root."""

from django.contrib import admin
from django.urls import include, path
from fleet import updates_serving, views

urlpatterns = [
    path("v1/provision", views.provision, name="provision"),
    path("v1/sync/events", views.push_events, name="push-events"),
    path("v1/sync/changes", views.pull_changes, name="pull-changes"),
    path("v1/updates/metadata/<path:path>", updates_serving.metadata, name="updates-metadata"),
    path("v1/updates/targets/<path:path>", updates_serving.targets, name="updates-targets"),
    path("admin/", admin.site.urls),
    path("", include("care.urls")),
]

# The error pages in the care app's style (used with DEBUG off, as in production).
handler403 = "care.views.error_403"
handler404 = "care.views.error_404"
handler500 = "care.views.error_500"
