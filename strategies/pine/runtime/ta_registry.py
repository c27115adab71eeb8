"""Registry placeholder; filled in below."""
