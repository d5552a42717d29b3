"""GET /healthz: 200 when the app can reach its database, 503 when it cannot.

It runs before the other middleware so a container health check can call it as
http://localhost:$PORT/healthz without a Host header from ALLOWED_HOSTS and without https.
"""
from django.db import connection
from django.http import HttpResponse


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != "/healthz":
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:  # any failure to reach the database means "not ready"
            return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
        return HttpResponse("ok\n", content_type="text/plain")
