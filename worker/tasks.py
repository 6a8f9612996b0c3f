"""Celery tasks (filled in by the figures work)."""
