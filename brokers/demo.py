from brokers.services import ensure_default_paper_account


def seed_demo_tenant(tenant, user) -> None:
    """The demo user's paper account in every demo tenant."""
    ensure_default_paper_account(user)
