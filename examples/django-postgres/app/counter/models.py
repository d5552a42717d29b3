from django.db import models


class Counter(models.Model):
    """A named counter; the page uses the one called "clicks"."""

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.value}"
