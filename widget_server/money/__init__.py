"""Payments, gateways, bank transfer, orders, invoices and receipts, purchases."""
