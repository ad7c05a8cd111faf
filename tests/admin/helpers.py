"""Turn a rendered admin change page back into the POST an operator's browser sends."""

from typing import Any


def form_data(response) -> dict[str, Any]:
    """The main form and every inline formset of ``response``, as rendered."""
    data: dict[str, Any] = {}

    def add(form) -> None:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def inline_prefix(response, model) -> str:
    """The formset prefix of ``model``'s inline on a change page."""
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise LookupError(model)


def add_inline_row(data: dict[str, Any], prefix: str, **fields: Any) -> None:
    """Fill the next empty row of an inline formset, as the "Add another" link does."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
