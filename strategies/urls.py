from django.urls import path

from . import views

app_name = "strategies"
urlpatterns = [
    path("", views.strategy_list, name="list"),
    path("<int:pk>/", views.strategy_detail, name="detail"),
    path("completions.json", views.completions, name="completions"),
    path("<int:pk>/compile/", views.compile_view, name="compile"),
    path("<int:pk>/save/", views.save_view, name="save"),
    path("<int:pk>/versions/", views.version_list, name="versions"),
    path("<int:pk>/versions/<int:number>/", views.version_detail, name="version"),
    path("<int:pk>/versions/<int:number>/restore/", views.version_restore, name="restore"),
    path("<int:pk>/diff/", views.version_diff, name="diff"),
    path("<int:pk>/builder/preview/", views.builder_preview, name="builder_preview"),
    path("<int:pk>/builder/save/", views.builder_save, name="builder_save"),
    path("<int:pk>/convert/", views.convert_to_code, name="convert"),
    path("<int:pk>/backtest/", views.backtest, name="backtest"),
]
