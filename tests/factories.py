import factory
from django.conf import settings

from accounts.models import Membership, Plan, User
from strategies.models import Strategy

TEST_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"trader{n}@example.com")
    username = factory.LazyAttribute(lambda u: u.email.lower())
    first_name = "Trader"
    plan = factory.LazyFunction(lambda: Plan.objects.get(code=Plan.Code.FREE))

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OWNER


class StrategyFactory(factory.django.DjangoModelFactory):
    """Create inside the tenant schema the strategy belongs to (see the `tenant_schema` helpers)."""

    class Meta:
        model = Strategy

    name = factory.Sequence(lambda n: f"Strategy {n}")
    description = "A test strategy"


def host_of(tenant) -> str:
    domain = tenant.domains.filter(is_primary=True).first() or tenant.domains.first()
    return domain.domain if domain else settings.APP_DOMAIN
