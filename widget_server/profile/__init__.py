"""What a family sees: home, a booking's dashboard and sessions, benefits, calendar."""
