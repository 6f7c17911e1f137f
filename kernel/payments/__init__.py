"""Payments: the provider registry (the wallet and settlement build on it)."""
