"""Health and metrics: what a load balancer and Prometheus ask the service."""
