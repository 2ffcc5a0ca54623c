"""LimaVM service: serves LimaVM, ConfigMap and Event APIs, runs the LimaVM
controller and the VM driver."""
