"""The Celery worker and beat schedule that compute and freeze the figures."""
