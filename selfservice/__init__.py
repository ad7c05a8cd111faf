"""The customer's own pages: order status, lookup and self-service actions (no login)."""
