"""The provider's side: the sync API, its resources, bulk import, idempotency, OpenAPI,
webhook deliveries."""
