// MicroMDNS: go-micro's mDNS registry and DNS-SD announcements (RFC 6762/6763) on SwiftNIO UDP multicast.
