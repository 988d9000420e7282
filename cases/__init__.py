"""Cases: their states and lifecycle, priority and the service levels they are held to."""
