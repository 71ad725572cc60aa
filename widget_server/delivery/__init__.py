"""Getting messages out: the durable outbox and its senders (e-mail, WhatsApp, signed
webhooks) and the notices that queue them. Imports only `core`."""
