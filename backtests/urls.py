from django.urls import path

from . import views

app_name = "backtests"
urlpatterns = [
    path("", views.backtest_list, name="list"),
    path("inputs/", views.version_inputs, name="inputs"),
    path("strategies/new/", views.new_strategy, name="new_strategy"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/status/", views.run_status, name="run_status"),
    path("runs/<int:pk>/results/", views.run_results, name="run_results"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/again/", views.run_again, name="run_again"),
    path("runs/<int:pk>/trades/", views.run_trades, name="run_trades"),
    path("runs/<int:pk>/chart.json", views.run_chart_data, name="run_chart_data"),
    path("runs/<int:pk>/export/<slug:kind>.csv", views.run_export, name="run_export"),
    path("runs/<int:pk>/parity/", views.run_parity, name="run_parity"),
    path("runs/<int:pk>/sweep/", views.sweep_new, name="sweep_new"),
    path("sweeps/<int:pk>/", views.sweep_detail, name="sweep"),
    path("data/", views.data_coverage, name="data"),
    path("data/<int:pk>/gaps/", views.series_gaps, name="series_gaps"),
]
