"""A higher app extends a lower app's admin page by subclassing its ``ModelAdmin`` and
registering the subclass in its place (docs/architecture.md, Layers): explicit, greppable,
no registry of hooks and no signals."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model


def replace_admin(
    model: type[Model],
    admin_class: type[admin.ModelAdmin[Any]],
    *,
    site: admin.AdminSite | None = None,
) -> None:
    """Register ``admin_class`` for ``model`` in place of the admin it extends.

    The admin registered now must be one of ``admin_class``'s bases: an app registered in
    the wrong order (the extension before the page it extends) fails at start-up, not as a
    page that silently lacks its sections.
    """
    site = site or admin.site
    current = site.get_model_admin(model)
    if type(current) not in admin_class.__mro__[1:]:
        raise ImproperlyConfigured(
            f"{admin_class.__qualname__} would replace {type(current).__qualname__}, "
            "which is not one of its bases."
        )
    site.unregister(model)
    site.register(model, admin_class)
