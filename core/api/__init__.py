"""The API's conventions, shared by every app's endpoints: problem+json errors, paging,
the JSON parser's limits, content negotiation, request limits and their OpenAPI
description. Nothing here knows who the callers are (``customers.api`` does)."""
