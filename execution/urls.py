from django.urls import path

from fourpass.sections import section_page

app_name = "execution"
urlpatterns = [
    path("", section_page("Deployments", "Strategies running natively on 4pass against paper or live accounts."), name="deployments"),
]
