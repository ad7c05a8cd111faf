"""OpenAPI description of the bearer key (``ApiKeyAuthentication``) for drf-spectacular.

drf-spectacular finds the extension by its class being defined: ``CustomersConfig.ready``
imports this module once the app registry is ready (the authentication module imports
models).
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from core.api.schema import KEY_SCHEME_NAME


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "customers.api.authentication.ApiKeyAuthentication"
    name = KEY_SCHEME_NAME

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A company's, vendor's, storefront's or ERP's API key: "
            "`Authorization: Bearer oms_…`.",
        }
