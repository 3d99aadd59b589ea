"""The event kernel shared by every service: envelope, store, hash chain, outbox relay,
idempotent inbox, projections, logging and configuration. Services import it; nothing in
it knows any service."""
