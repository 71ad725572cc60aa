"""What every widget page shares: the visit (tenant and login), rendering, forms, security
headers, error pages, static assets. Imports only `core`."""
