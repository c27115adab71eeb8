from django.db import models


class HookRoute(models.Model):
    """token hash -> (schema, binding). Lives on the public schema so /hook/<token> finds its tenant
    without scanning every schema. Only the SHA-256 of the token is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    schema_name = models.CharField(max_length=63)
    binding_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["schema_name", "binding_id"])]

    def __str__(self) -> str:
        return f"{self.schema_name}/{self.binding_id}"
