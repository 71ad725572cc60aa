"""What a family changes itself: cancel, move, add-ons, make-ups, waiting lists,
entry passes, against real capacity and the provider's rules; reminders."""
