"""Domain logic and data access for Hazardtrack. Knows neither HTTP nor Celery."""
