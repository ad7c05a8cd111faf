"""Webhooks for B2B systems: subscriptions, signed deliveries, the delivery log."""
