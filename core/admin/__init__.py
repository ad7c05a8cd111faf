"""Building blocks shared by the operator console (the Django admin of every app), one
module per concern (``paging``, ``display``, ``mixins``, ``pages``, ``bulk``); every public
name is importable from here.

- ``BoundedCountPaginator``: changelists never run an unbounded ``COUNT(*)``.
- ``OperatorAdminMixin``: the defaults every ``ModelAdmin`` of the console starts from.
- ``AppendOnlyAdminMixin`` / ``ReadOnlyInlineMixin``: ledgers, timelines and holds are
  shown, never added, edited or deleted by hand.
- ``render_form_page`` and ``run_action_with_form``: the pages where an operator types
  the input of a service call (a reason, a quantity) before it runs.
- ``ServiceForm`` + ``ServicePagesMixin``: a console page whose valid submit makes one
  service call and reports the outcome; ``show_refusal`` shows a refused call as an
  error message above the unchanged form (never as a "Please correct" banner).
- ``PostalAddressForm``: the form of every address page (saved addresses, locations),
  checked by ``core.addresses.clean_postal_address`` like the services.
- ``run_on_rows`` and ``report_outcome``: a bulk action, one service call per row, and
  what it did, told honestly (see "Words on screen" in docs/architecture.md).
- ``replace_admin``: a higher app registers its subclass of a lower app's admin in its
  place, to add the sections the lower app may not import (see "Layers").
"""

from .addresses import PostalAddressForm
from .bulk import RowKey, RowsOutcome, run_on_rows
from .display import (
    admin_change_url,
    admin_changelist_url,
    adopt_saved,
    count_of,
    refusal_of,
    render_table,
    report_outcome,
    short_datetime,
)
from .mixins import (
    AppendOnlyAdminMixin,
    OperatorAdminMixin,
    OrderNumberSearchMixin,
    ReadOnlyInlineMixin,
)
from .pages import (
    ACTION_PREVIEW_ROWS,
    FORM_PAGE_TEMPLATE,
    ConfirmForm,
    ServiceForm,
    ServicePagesMixin,
    render_form_page,
    run_action_with_form,
    show_refusal,
)
from .paging import (
    DEFAULT_EXACT_COUNT_LIMIT,
    MIN_EXACT_COUNT_LIMIT,
    BoundedCountPaginator,
    exact_count_limit,
    table_row_estimate,
)
from .registration import replace_admin

__all__ = [
    "ACTION_PREVIEW_ROWS",
    "DEFAULT_EXACT_COUNT_LIMIT",
    "FORM_PAGE_TEMPLATE",
    "MIN_EXACT_COUNT_LIMIT",
    "AppendOnlyAdminMixin",
    "BoundedCountPaginator",
    "ConfirmForm",
    "OperatorAdminMixin",
    "OrderNumberSearchMixin",
    "PostalAddressForm",
    "ReadOnlyInlineMixin",
    "RowKey",
    "RowsOutcome",
    "ServiceForm",
    "ServicePagesMixin",
    "admin_change_url",
    "admin_changelist_url",
    "adopt_saved",
    "count_of",
    "exact_count_limit",
    "refusal_of",
    "render_form_page",
    "render_table",
    "replace_admin",
    "report_outcome",
    "run_action_with_form",
    "run_on_rows",
    "short_datetime",
    "show_refusal",
    "table_row_estimate",
]

# Registers the saved filters' admin (core's own table); imported last, after the
# building blocks it uses.
from . import saved_filters  # noqa: F401
