"""The FastAPI app: routers, schemas and auth. Domain rules live in services/."""
