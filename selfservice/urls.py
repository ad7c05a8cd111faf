from django.urls import path

from . import views

app_name = "selfservice"

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("<str:token>/", views.status, name="status"),
    path("<str:token>/cancel/", views.cancel, name="cancel"),
]
