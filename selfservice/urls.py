from django.urls import path

from . import address, payment, preferences, returns, views

app_name = "selfservice"

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("<str:token>/", views.status, name="status"),
    path("<str:token>/cancel/", views.cancel, name="cancel"),
    path("<str:token>/address/", address.change_address, name="address"),
    path("<str:token>/address/confirm/", address.confirm_held_address, name="address-confirm"),
    path("<str:token>/payment/", payment.update_payment, name="payment"),
    path("<str:token>/return/", returns.start_return, name="return"),
    path("<str:token>/returns/<str:rma>/", returns.return_done, name="return-done"),
    path("<str:token>/returns/<str:rma>/label.pdf", returns.return_label, name="return-label"),
    path("<str:token>/notifications/", preferences.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", preferences.unsubscribe, name="unsubscribe"),
]
