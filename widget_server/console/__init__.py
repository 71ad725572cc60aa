"""The provider console (`/console/<tenant>/`): the provider staff's side of the product."""
