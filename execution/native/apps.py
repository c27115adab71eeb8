from django.apps import AppConfig


class NativeConfig(AppConfig):
    name = "execution.native"
    label = "native"
    verbose_name = "Native strategy deployments"
