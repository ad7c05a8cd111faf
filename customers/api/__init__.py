"""Who calls the API: the bearer key's authentication, its principal and permissions."""
