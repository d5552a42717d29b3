from django.db.models import F
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .models import Counter

COUNTER = "clicks"


@require_http_methods(["GET", "POST"])
def index(request):
    if request.method == "POST":
        # One UPDATE ... SET value = value + 1: concurrent clicks are never lost.
        Counter.objects.get_or_create(name=COUNTER)
        Counter.objects.filter(name=COUNTER).update(value=F("value") + 1)
        # Post/Redirect/Get, so reloading the page does not click again.
        return redirect("index")
    counter = Counter.objects.filter(name=COUNTER).first()
    return render(request, "counter/index.html", {"value": counter.value if counter else 0})
