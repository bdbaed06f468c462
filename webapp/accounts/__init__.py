"""User accounts for administrators: the list, creating an account, its roles, deactivation and password resets."""
