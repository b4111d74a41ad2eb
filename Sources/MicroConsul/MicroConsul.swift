// MicroConsul: go-micro's Consul registry over the Consul agent HTTP API.
