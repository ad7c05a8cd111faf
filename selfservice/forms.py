from django import forms


class LookupForm(forms.Form):
    number = forms.CharField(label="Order number", max_length=32)
    email = forms.EmailField(label="E-mail address", required=False, max_length=254)
    postal_code = forms.CharField(
        label="Or the delivery postal code", required=False, max_length=20
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if not (cleaned.get("email") or str(cleaned.get("postal_code") or "").strip()):
            raise forms.ValidationError("Give the e-mail address or the postal code of the order.")
        return cleaned
