"""The account's own settings: details, notifications, e-mail change, sharing a booking,
data export and deletion."""
