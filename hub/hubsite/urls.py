"""URLs: the sync API (docs/SYNC.md) under /v1/ and the staff admin under /admin/."""

from django.contrib import admin
from django.urls import path
from fleet import views

urlpatterns = [
    path("v1/provision", views.provision, name="provision"),
    path("v1/sync/events", views.push_events, name="push-events"),
    path("v1/sync/changes", views.pull_changes, name="pull-changes"),
    path("admin/", admin.site.urls),
]
