"""App service: serves the App API and runs the App controller."""
