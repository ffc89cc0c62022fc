"""Request and response bodies that combine several domains (a claim with its machine)."""
