from django.urls import path

from accounts import views

urlpatterns = [path("delete/", views.account_delete_page, name="account_delete")]
