// MicroGossip: a serverless registry on SWIM gossip, speaking hashicorp memberlist's wire protocol.
